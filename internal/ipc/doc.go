// Package ipc is isle's channel mechanism: channels whose protocol is a
// contract (internal/contract), endpoints and exchange-heap blocks named by
// handles in per-SIP handle tables, and the rules that make them linear.
//
// The rules of the interface:
//
//   - A channel has two endpoints, the importer's and the exporter's. Each
//     endpoint and each exchange-heap block is owned by exactly one handle
//     table (one SIP) at a time, or by exactly one message in flight. Sending
//     a message moves the endpoints named in its endpoint fields and the
//     blocks attached to it: their handles are freed in the sender's table at
//     once (a later use is ErrBadHandle) and new handles are made in the
//     receiver's table when it takes the message out.
//   - Every send is checked before anything moves: the handle must name an
//     endpoint of the sender (ErrBadHandle, ErrWrongType); the contract must
//     allow the message from this side in this endpoint's state
//     (ErrNotAllowed); the payload must hold exactly the message's fields
//     (ErrBadFields); every endpoint field must name an endpoint of the
//     field's contract and side, other than the sending one (ErrBadHandle,
//     ErrWrongType); every attached block a block of the sender. A refused
//     send changes nothing and the receiver never sees it.
//   - Each endpoint steps its own copy of the protocol state on every message
//     it sends and receives (docs/contracts.md, "Why no mixed states").
//   - Closing an endpoint (or the end of its SIP) delivers an implicit Closed
//     message to the peer after every message sent before it; sends to a
//     closed peer fail with ErrClosed.
//   - Quotas: a table holds at most Limits.Handles handles and
//     Limits.HeapBytes bytes of blocks. A receive that would exceed them fails
//     with ErrQuota and leaves the message queued.
//
// Cores. Code in this package runs on a core's goroutine: in a host function
// of a SIP that core runs, or in Deliver, which the core calls for a Packet
// another core sent it. Everything reachable from a Table, and the state of
// every endpoint and block, is owned by the core that owns the table (or the
// packet that carries it) and is touched only there. Packets move between
// cores through the Port the caller supplies (the kernel's SendTo), and
// ownership of everything a packet carries moves with it.
//
// Routing. A packet is addressed to a table — the one its endpoint was last
// known to live in — and handed to the kernel, which delivers it on the core
// that owns that table's SIP, following the SIP if it migrates
// (kernel.SIPDeliverable). When an endpoint leaves a table inside a packet,
// the table records where the packet went (Table.gone) and forwards later
// packets for it the same way. Packets carry a per-direction sequence
// number, and an endpoint admits them in order, so a packet that took a
// longer path is never overtaken. This is the one place that knows where
// endpoints live.
//
// The package imports neither the kernel nor wazero: the kernel's side is the
// Port interface, implemented by internal/abi.
package ipc
