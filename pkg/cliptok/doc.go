// Package cliptok is CLIP's byte-level BPE tokenizer and vocabulary, as
// used by Stable Diffusion's text encoders (SD1 CLIP ViT-L/14, and the
// shared vocabulary of SD2's and SDXL's OpenCLIP encoders).
//
// [Encode] gives the ids of OpenAI's reference `SimpleTokenizer.encode`
// (simple_tokenizer.py), with ftfy taken as the identity: ASCII and
// ordinary NFC Unicode text is not changed by ftfy, so the ids are
// exact for it. [EncodeA1111] gives the ids of the Hugging Face
// CLIPTokenizer that AUTOMATIC1111's WebUI calls: it does not call
// html.unescape; the HTML entities it decodes are those ftfy.fix_text
// decodes (see [EncodeA1111]). [TokenText] turns one id into readable
// text, as the reference `decode` does for a one-id list.
//
// The vocabulary (bpe_simple_vocab_16e6.txt.gz, 49408 tokens) is OpenAI's,
// MIT-licensed (LICENSE beside this file), embedded in the binary and
// decoded once, on first use.
//
// # Security
//
// Input is any string: invalid UTF-8 is read as U+FFFD, as Python would
// never see it. Work is bounded: a pre-token longer than [MaxWordBytes]
// is refused with [ErrWordTooLong] (BPE is quadratic in a word's length),
// and the per-word cache holds at most a fixed number of entries. The
// embedded vocabulary is checked when it is decoded; a corrupt one is an
// error, never a panic.
package cliptok
