module github.com/embtool/embtool

go 1.26.0

require (
	github.com/nlpodyssey/gopickle v0.2.0
	github.com/rogpeppe/go-internal v1.16.0
	github.com/spf13/pflag v1.1.0
	github.com/x448/float16 v0.8.4
	golang.org/x/image v0.30.0
	golang.org/x/sys v0.50.0
	golang.org/x/term v0.48.0
)

require golang.org/x/tools v0.36.0 // indirect
