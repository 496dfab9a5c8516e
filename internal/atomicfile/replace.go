package atomicfile

import "errors"

// ErrTargetOpen: on Windows, the output could not be replaced because
// another program holds it open (A1111, Forge and ComfyUI keep nothing
// open after loading, but an image viewer, an antivirus scan or a
// half-finished download can); the old file is left as it was.
var ErrTargetOpen = errors.New("it is open in another program or read-only; close it and retry (the old file is unchanged)")
