package torchpt

// operand describes how an opcode's argument is encoded in the stream.
type operand uint8

const (
	argNone    operand = iota
	argU8              // one byte
	argU16             // two bytes LE
	argU32             // four bytes LE
	argF64             // eight bytes (BINFLOAT, big-endian)
	argU64             // eight bytes LE, no payload (FRAME)
	argLine            // text up to '\n'
	argTwoLine         // two '\n'-terminated lines (GLOBAL, INST)
	argLen1            // u8 length, then that many bytes
	argLen4            // u32 LE length, then that many bytes
	argLen8            // u64 LE length, then that many bytes
)

// opInfo is one pickle opcode: its name, operand encoding, and whether the
// data-only VM may run it (formats.md §2). Opcodes that are known but not
// allowed are still parsed, so scan can report them precisely.
type opInfo struct {
	name    string
	arg     operand
	allowed bool
}

var opcodes = [256]*opInfo{
	'(':  {"MARK", argNone, true},
	'.':  {"STOP", argNone, true},
	'0':  {"POP", argNone, true},
	'1':  {"POP_MARK", argNone, true},
	'2':  {"DUP", argNone, true},
	'F':  {"FLOAT", argLine, false},
	'I':  {"INT", argLine, false},
	'J':  {"BININT", argU32, true},
	'K':  {"BININT1", argU8, true},
	'L':  {"LONG", argLine, false},
	'M':  {"BININT2", argU16, true},
	'N':  {"NONE", argNone, true},
	'P':  {"PERSID", argLine, false},
	'Q':  {"BINPERSID", argNone, true},
	'R':  {"REDUCE", argNone, true},
	'S':  {"STRING", argLine, false},
	'T':  {"BINSTRING", argLen4, false},
	'U':  {"SHORT_BINSTRING", argLen1, true},
	'V':  {"UNICODE", argLine, false},
	'X':  {"BINUNICODE", argLen4, true},
	'a':  {"APPEND", argNone, true},
	'b':  {"BUILD", argNone, true},
	'c':  {"GLOBAL", argTwoLine, true},
	'd':  {"DICT", argNone, true},
	'}':  {"EMPTY_DICT", argNone, true},
	'e':  {"APPENDS", argNone, true},
	'g':  {"GET", argLine, false},
	'h':  {"BINGET", argU8, true},
	'i':  {"INST", argTwoLine, false},
	'j':  {"LONG_BINGET", argU32, true},
	'l':  {"LIST", argNone, true},
	']':  {"EMPTY_LIST", argNone, true},
	'o':  {"OBJ", argNone, false},
	'p':  {"PUT", argLine, false},
	'q':  {"BINPUT", argU8, true},
	'r':  {"LONG_BINPUT", argU32, true},
	's':  {"SETITEM", argNone, true},
	't':  {"TUPLE", argNone, true},
	')':  {"EMPTY_TUPLE", argNone, true},
	'u':  {"SETITEMS", argNone, true},
	'G':  {"BINFLOAT", argF64, true},
	0x80: {"PROTO", argU8, true},
	0x81: {"NEWOBJ", argNone, true},
	0x82: {"EXT1", argU8, false},
	0x83: {"EXT2", argU16, false},
	0x84: {"EXT4", argU32, false},
	0x85: {"TUPLE1", argNone, true},
	0x86: {"TUPLE2", argNone, true},
	0x87: {"TUPLE3", argNone, true},
	0x88: {"NEWTRUE", argNone, true},
	0x89: {"NEWFALSE", argNone, true},
	0x8a: {"LONG1", argLen1, true},
	0x8b: {"LONG4", argLen4, false},
	'B':  {"BINBYTES", argLen4, true},
	'C':  {"SHORT_BINBYTES", argLen1, true},
	0x8c: {"SHORT_BINUNICODE", argLen1, true},
	0x8d: {"BINUNICODE8", argLen8, false},
	0x8e: {"BINBYTES8", argLen8, false},
	0x8f: {"EMPTY_SET", argNone, true},
	0x90: {"ADDITEMS", argNone, true},
	0x91: {"FROZENSET", argNone, false},
	0x92: {"NEWOBJ_EX", argNone, false},
	0x93: {"STACK_GLOBAL", argNone, true},
	0x94: {"MEMOIZE", argNone, true},
	0x95: {"FRAME", argU64, true},
	0x96: {"BYTEARRAY8", argLen8, false},
	0x97: {"NEXT_BUFFER", argNone, false},
	0x98: {"READONLY_BUFFER", argNone, false},
}
