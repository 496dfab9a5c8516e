package torchpt

import (
	"strings"
	"sync"

	"github.com/embtool/embtool/pkg/tensor"
)

// globalKind is what an allowed GLOBAL becomes in the data-only VM.
type globalKind uint8

const (
	notAllowed globalKind = iota
	kRebuildTensor
	kRebuildParameter
	kRebuildParameterWithState
	kOrderedDict
	kSet
	kParameterDict
	kInert              // data-only checkpoint extras, decoded as Opaque values
	kStorage            // a storage class in the dtype table
	kUnsupportedStorage // a real torch storage class embtool does not read
)

// allowedGlobals is the allow-list of formats.md §1.4 ("Recommended Go
// loader policy"), after the Python 2 → 3 name mapping. Storage classes
// are matched separately (storageKind). It and the tables below are built
// on first use, not at every start of a program that links this package.
var allowedGlobals = sync.OnceValue(func() map[string]globalKind {
	return map[string]globalKind{
		"torch._utils._rebuild_tensor_v2":            kRebuildTensor,
		"torch._utils._rebuild_parameter":            kRebuildParameter,
		"torch._utils._rebuild_parameter_with_state": kRebuildParameterWithState,
		"collections.OrderedDict":                    kOrderedDict,
		"builtins.set":                               kSet,
		"torch.nn.modules.container.ParameterDict":   kParameterDict,

		// Checkpoints (.ckpt) name a few data-only globals outside the tensors:
		// numpy scalars (global_step), pytorch_lightning callback state.
		// A1111's safe.py allows exactly these; embtool keeps them as inert
		// Opaque values and never calls anything.
		"numpy.core.multiarray.scalar":                                 kInert,
		"numpy.core.multiarray._reconstruct":                           kInert,
		"numpy._core.multiarray.scalar":                                kInert,
		"numpy._core.multiarray._reconstruct":                          kInert,
		"numpy.dtype":                                                  kInert,
		"numpy.ndarray":                                                kInert,
		"_codecs.encode":                                               kInert,
		"pytorch_lightning.callbacks.model_checkpoint":                 kInert,
		"pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint": kInert,
	}
})

// storageDTypes maps torch's legacy typed storage classes to dtypes
// (formats.md §1.2 table).
var storageDTypes = sync.OnceValue(func() map[string]tensor.DType {
	return map[string]tensor.DType{
		"FloatStorage":    tensor.F32,
		"HalfStorage":     tensor.F16,
		"BFloat16Storage": tensor.BF16,
		"DoubleStorage":   tensor.F64,
		"LongStorage":     tensor.I64,
		"IntStorage":      tensor.I32,
		"ShortStorage":    tensor.I16,
		"CharStorage":     tensor.I8,
		"ByteStorage":     tensor.U8,
		"BoolStorage":     tensor.BOOL,
	}
})

// unsupportedStorages are real torch storage classes that carry no code
// but that embtool does not read.
var unsupportedStorages = sync.OnceValue(func() map[string]bool {
	return map[string]bool{
		"ComplexFloatStorage": true, "ComplexDoubleStorage": true, "QInt8Storage": true,
		"QUInt8Storage": true, "QInt32Storage": true, "QUInt4x2Storage": true,
		"QUInt2x4Storage": true, "UntypedStorage": true,
	}
})

// pyName maps Python 2 module names to Python 3 ones, as PyTorch's
// unpicklers do (IMPORT_MAPPING, load_module_mapping).
func pyName(module, name string) string {
	switch module {
	case "__builtin__":
		module = "builtins"
	case "copy_reg":
		module = "copyreg"
	case "torch.tensor":
		module = "torch._tensor"
	}
	return module + "." + name
}

// classify tells what the GLOBAL module.name is allowed to be.
func classify(module, name string) globalKind {
	full := pyName(module, name)
	if k, ok := allowedGlobals()[full]; ok {
		return k
	}
	if module == "torch" {
		if _, ok := storageDTypes()[name]; ok {
			return kStorage
		}
		if unsupportedStorages()[name] {
			return kUnsupportedStorage
		}
	}
	return notAllowed
}

// whyUnsafe says in a few words what a disallowed global is known to do,
// so a person reading the report understands the danger.
func whyUnsafe(module, name string) string {
	full := pyName(module, name)
	switch {
	case module == "os" || module == "posix" || module == "nt" || module == "subprocess" ||
		module == "pty" || module == "commands" || strings.HasPrefix(full, "multiprocessing."):
		return "runs a shell command or program"
	case full == "builtins.eval" || full == "builtins.exec" || full == "builtins.compile" ||
		module == "runpy" || module == "code" || module == "types" || module == "marshal" ||
		strings.HasPrefix(module, "dataclasses"):
		return "runs arbitrary Python code"
	case full == "builtins.__import__" || module == "importlib" || strings.HasPrefix(module, "importlib.") ||
		full == "builtins.getattr" || full == "builtins.setattr" || module == "inspect" || module == "operator":
		return "reaches arbitrary Python objects"
	case module == "pickle" || module == "_pickle" || module == "cPickle" || module == "dill" ||
		full == "torch.load" || full == "torch.storage._load_from_bytes" || strings.HasPrefix(module, "torch.serialization"):
		return "unpickles nested data, which can run code"
	case module == "socket" || module == "webbrowser" || strings.HasPrefix(module, "urllib") ||
		strings.HasPrefix(module, "http") || module == "requests" || module == "ftplib" || module == "smtplib":
		return "opens network connections"
	case module == "shutil" || module == "io" || module == "tempfile" || module == "pathlib" ||
		full == "builtins.open":
		return "reads, writes or deletes files"
	}
	return "not in the allow-list of data-only globals"
}
