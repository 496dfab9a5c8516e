// Package prompt counts a Stable Diffusion prompt as AUTOMATIC1111's
// WebUI does: its attention syntax (modules/prompt_parser.py,
// parse_prompt_attention: "(a)", "(a:1.2)", "[a]", "\(", BREAK), its
// tokenizer (cliptok.EncodeA1111, one call per parsed piece), its
// textual-inversion lookup (the file stem's token ids matched in the
// prompt's ids, longest first: EmbeddingDatabase.find_embedding_at_position)
// and its 75-token chunks with the comma backtrack
// (sd_hijack_clip.py, tokenize_line). ComfyUI's "embedding:NAME" words
// are recognised too.
//
// Not reproduced: prompt editing ("[a:b:0.5]", "[a|b]") and AND, which
// A1111 expands before counting; [Count] warns when a prompt has them.
//
// # Security
//
// The prompt is any string. Work is linear in its length apart from the
// tokenizer's per-word bound (cliptok.MaxWordBytes); the output holds one
// slot per token and per embedding vector, so an embedding's vector
// count (from a file the caller read) bounds memory with the prompt.
package prompt
