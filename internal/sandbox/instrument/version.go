package instrument

// Version names the rewriter's output. A runtime that keeps rewritten
// modules on disk (sandbox's compilation cache) keys them by the original
// module's hash and this number, so bump it with every change to the code
// Instrument emits: a stale rewritten module would then be rewritten again
// instead of run.
const Version = 14
