package wasmbin

import "encoding/binary"

// ScriptCalls decodes a fuzzer's script into calls of funcs: per call, one
// byte (the row of funcs, modulo its length) then width bytes (4 or 8,
// little-endian) for each of that function's parameters; a short tail gives
// zeros and ends the script. fix, if not nil, may change each argument (by
// function and parameter index) before it is kept: a harness uses it to keep
// a call from blocking. Both host-call fuzz harnesses (internal/abi's and
// internal/wasi's) decode their input with it.
func ScriptCalls(script []byte, funcs []Import, width int, fix func(fn, param int, v uint64) uint64) []Call {
	var calls []Call
	for len(script) > 0 && len(funcs) > 0 {
		c := Call{Func: int(script[0]) % len(funcs)}
		script = script[1:]
		for j := range funcs[c.Func].Params {
			var v uint64
			if len(script) >= width {
				if width == 8 {
					v = binary.LittleEndian.Uint64(script)
				} else {
					v = uint64(binary.LittleEndian.Uint32(script))
				}
				script = script[width:]
			} else {
				script = nil
			}
			if fix != nil {
				v = fix(c.Func, j, v)
			}
			c.Args = append(c.Args, v)
		}
		calls = append(calls, c)
	}
	return calls
}
