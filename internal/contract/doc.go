// Package contract is isle's channel contract language: Singularity-style
// session types that say, for a channel, which messages each side may send
// in each state (Fähndrich et al., EuroSys 2006). The language, the rules
// of the checker and the binary encoding of fields are described in
// docs/contracts.md.
//
// The package has three parts:
//
//   - the front end: ParseFile (lexer and parser, syntax tree in File),
//     Check (names, types and the protocol rules), CheckSource and
//     CheckFiles (what `isle contract check` calls). Problems come back as
//     Diagnostics, "file:line:col: message", sorted by position.
//   - the runtime form: Compile turns a clean File into a Set of
//     Contracts. A Contract is an immutable deterministic state machine;
//     Contract.Step is the kernel's check on every send, Contract.Final
//     says whether a channel may be closed in a state. Neither allocates.
//   - the field encoding: Message.CheckFields validates a payload and
//     locates its endpoint fields without allocating; Message.Encode and
//     Message.Decode convert between payloads and Go values.
//
// Everything is pure: no goroutines, clocks or I/O, except CheckFiles,
// which reads the files it is given. Compiled values are immutable and may
// be shared by every core.
//
// The rule that makes contracts worth checking is that no state is mixed:
// in each state only one side may send. Two peers that follow such a
// contract always agree on the state once the messages in flight are
// received, never both send at once, and are never both waiting to receive
// in a state that is not final (see docs/contracts.md, "Why no mixed
// states").
package contract
