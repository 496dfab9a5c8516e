#!/usr/bin/env python3
"""Expected CLIP token ids from OpenAI's reference tokenizer.

Runs OpenAI's simple_tokenizer.py (MIT; ../shared/clip/ beside the
checkout, or --clip DIR) over a few hundred prompts and writes
testdata/tokens/expected.jsonl: one {"text", "ids"} per prompt, plus the
decoding of every id (testdata/tokens/decode.json.gz, the reference's
decode([id])) and a few entity cases for the A1111 tokenizer
(testdata/tokens/a1111.jsonl, see below).

ftfy is not installed here (PyPI is unreachable and Debian has no
python3-ftfy): it is stubbed as the identity. That is exact for the
prompts below: ASCII and NFC Unicode without curly quotes, ligatures,
full-width forms, control characters or mojibake, which is all ftfy
would change (its HTML-entity decoding is a no-op after the reference's
own html.unescape).

Needs Debian's python3-regex. Run from the repository root:
    /usr/bin/python3 testdata/gen/gen_tokens.py
"""
import argparse
import gzip
import html
import json
import os
import random
import sys
import types

sys.dont_write_bytecode = True

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The README's prompts and real negative prompts people paste.
REAL = [
    "EasyNegative, (worst quality:1.4), badhandv4",
    "EasyNegative, negative_hand, FastNegativeV2 and veryBadImageNegative",
    "a photo of an astronaut riding a horse on mars",
    "masterpiece, best quality, 1girl, solo, long hair, looking at viewer, smile",
    "(worst quality, low quality:1.4), (bad anatomy), (inaccurate limb:1.2), bad composition, inaccurate eyes, extra digit, fewer digits, (extra arms:1.2)",
    "lowres, bad anatomy, bad hands, text, error, missing fingers, extra digit, fewer digits, cropped, worst quality, low quality, normal quality, jpeg artifacts, signature, watermark, username, blurry",
    "ng_deepnegative_v1_75t, (badhandv4:1.2), EasyNegative, (worst quality:2), (low quality:2), (normal quality:2), lowres, ((monochrome)), ((grayscale)), bad anatomy, DeepNegative, skin spots, acnes, skin blemishes, (fat:1.2), facing away, looking away, tilted head, lowres, bad anatomy, bad hands, missing fingers, extra digit, fewer digits, bad feet, poorly drawn hands, poorly drawn face, mutation, deformed, extra fingers, extra limbs, extra arms, extra legs, malformed limbs, fused fingers, too many fingers, long neck, cross-eyed, mutated hands, polar lowres, bad body, bad proportions, gross proportions, missing arms, missing legs, extra digit, extra arms, extra leg, extra foot, teethcroppe, signature, watermark, username, blurry, cropped, jpeg artifacts, text, error",
    "FastNegativeV2, negative_hand-neg, verybadimagenegative_v1.3, bad-artist, bad-artist-anime, bad_prompt_version2",
    "(deformed iris, deformed pupils, semi-realistic, cgi, 3d, render, sketch, cartoon, drawing, anime), text, cropped, out of frame, worst quality, low quality, jpeg artifacts, ugly, duplicate, morbid, mutilated",
    "nsfw, (worst quality:2), (low quality:2), (normal quality:2), lowres, watermark, monochrome, grayscale",
    "portrait of a woman, intricate, elegant, highly detailed, digital painting, artstation, concept art, smooth, sharp focus, illustration, art by artgerm and greg rutkowski and alphonse mucha, 8k",
    "a [cat:dog:0.5] sitting on a (red:1.3) sofa BREAK in a living room, \\(literal parens\\)",
    "((masterpiece)), [[blurry]], (photorealistic:1.4), RAW photo, 8k uhd, dslr, soft lighting, high quality, film grain, Fujifilm XT3",
    "embedding:EasyNegative, embedding:badhandv4, (worst quality:1.2)",
    "<lora:add_detail:0.8>, 1girl, <hypernet:foo:1>",
    "21charturnerv2, a character turnaround of a knight in shining armor, multiple views of the same character",
    "bad_prompt_version2, ulzzang-6500-v1.1, ICECAKE-40000, gasai yuno-1000",
    "score_9, score_8_up, score_7_up, source_anime, rating_safe",
    "(((ultra-detailed))), (illustration), (1 girl), (beautiful detailed eyes), (glowing eyes:1.2)",
    "text, watermark, signature, logo, artist name, username, patreon logo, twitter username",
    "extra fingers,mutated hands,poorly drawn hands,poorly drawn face,mutation,deformed,blurry,dehydrated,bad anatomy,bad proportions,extra limbs,cloned face,disfigured,gross proportions,malformed limbs,missing arms,missing legs,extra arms,extra legs,fused fingers,too many fingers,long neck",
]

ASCII = [
    "", " ", "   leading and trailing   ", "a", "A", "I", "hello world", "Hello, World!",
    "the quick brown fox jumps over the lazy dog", "THE QUICK BROWN FOX",
    "CamelCaseWordsTogether", "snake_case_words_here", "kebab-case-words-here", "dot.separated.words",
    "tab\tseparated\twords", "new\nline\nwords", "windows\r\nline\r\nends", "form\ffeed", "vertical\vtab",
    "multiple     spaces    here", "trailing punctuation!!!", "???", "...", "!?!?", "--", "—",
    "email@example.com", "https://example.com/path?q=1&x=2", "C:\\Users\\name\\file.pt", "/usr/bin/python3",
    "1234567890", "3.14159", "1,000,000", "2023-10-05", "12:30pm", "v1.3", "SD1.5", "x2", "4k", "8K UHD",
    "100%", "$5.99", "#hashtag", "@mention", "a+b=c", "x*y/z", "~tilde~", "`backtick`", "^caret^", "|pipe|",
    "{braces}", "[brackets]", "(parens)", "<angle>", "\"double quotes\"", "'single quotes'",
    "don't", "DON'T", "I'm", "I'M", "you're", "YOU'RE", "we've", "WE'VE", "she'll", "SHE'LL", "he'd", "HE'D",
    "it's", "IT'S", "can't won't shouldn't", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "''s", "'''",
    "rock'n'roll", "o'clock", "'tis", "'twas", "ma'am", "y'all", "'sup", "'dsomething", "'llama", "'reason",
    "<|startoftext|>", "<|endoftext|>", "<|startoftext|>a photo<|endoftext|>", "<|STARTOFTEXT|>",
    "x<|endoftext|>y", "<|endoftext|><|endoftext|>", ",<|endoftext|>", "<|notaspecial|>", "<|endof",
    "supercalifragilisticexpialidocious", "pneumonoultramicroscopicsilicovolcanoconiosis",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "abababababababababababab", "zzzzzzzzzzzzzzz",
    "qwertyuiopasdfghjklzxcvbnm", "xkcdxkcdxkcd", "lol", "lmao", "rofl", "btw", "imo",
    "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", ",,,,,,,,,,", "((((((((((", "))))))))))", ":::::", ";;;;",
    "a,b,c,d,e,f,g", "a, b, c, d", "a ,b ,c", "(a:1.2)", "[a]", "{a|b}", "a:b:c", "a\\(b\\)c",
    "BREAK", "a BREAK b", "aBREAKb", "AND", "a AND b",
]

UNICODE = [
    "café", "naïve", "résumé", "Ångström", "façade", "jalapeño", "über", "Straße", "STRASSE",
    "ΟΔΟΣ", "Σ", "ΑΣ", "ΑΣ Β", "ΑΣ.", "σοφία", "Ελληνικά", "Ὀδυσσεύς",
    "İstanbul", "ISTANBUL", "ıi", "Дмитрий Шостакович", "Привет, мир!", "ПРИВЕТ",
    "日本語のテキスト", "東京タワー", "ひらがな", "カタカナ", "漢字", "中文提示词，高质量", "한국어 텍스트", "안녕하세요",
    "العربية", "مرحبا بالعالم", "עברית", "हिन्दी", "नमस्ते", "ไทย", "ภาษาไทย", "tiếng Việt",
    "Ꭰ Cherokee", "ᚠᚢᚦ runes", "ⲁⲃⲅ coptic", "𝔣𝔯𝔞𝔨𝔱𝔲𝔯", "𝐛𝐨𝐥𝐝", "ℝ ℕ ℤ", "Ω ohm", "µ micro", "Å angstrom",
    "½ ¼ ¾", "² ³ ¹", "①②③", "Ⅻ roman", "٣ arabic digit", "७ devanagari digit", "〇 zero", "𝟙𝟚𝟛",
    "© ® ™", "° ± × ÷", "€ £ ¥ ₹", "« guillemets »", "¿qué?", "¡hola!", "§ ¶ †", "• · …",
    "→ ← ↑ ↓", "★ ☆ ♥ ♦", "♪ ♫", "∞ ≈ ≠ ≤ ≥", "∑ ∏ √", "□ ■ ▲ ▼",
    "😀", "😀😃😄", "👍🏽", "👨‍👩‍👧‍👦", "🇯🇵", "🏳️‍🌈", "❤️", "✨ sparkles ✨", "a🙂b", "🐱 cat", "🔥🔥🔥",
    "emoji😀inside", "1️⃣", "©️", "🧑‍🚀 astronaut", "\U0001F600\U0001F64F",
    "e\u0301", "a\u0308", "\u0345", "a\u0345b", "\u0345\u0345", "x \u0345 y", "\u00ad soft hyphen", "zero\u200bwidth",
    "nb\u00a0space", "em\u2003space", "ideographic\u3000space", "narrow\u202fnbsp", "line\u2028sep", "para\u2029sep",
    "nel\u0085char", "ogham\u1680space", "sep\x1cfile", "\x1d\x1e\x1f", " \x1cx\x1c ", "mongolian\u180evs",
    "'ſ", "'ſtar", "Kelvin \u212a", "'\u017f", "ǅ titlecase", "ǈ", "ﬁ", "ﬀ",
    "\u0130\u0307", "ΣΑΣ", "ΌΣΟΣ", "Σ'Σ", "ΑΣ\u0301", "Α\u0301Σ", "ΑΣ'Β", "aΣ", "1Σ",
]

ENTITIES = [
    "&amp;", "&amp", "&amp;amp;", "&amp;amp;amp;", "&lt;3", "&lt;tag&gt;", "&quot;hi&quot;", "&#39;s", "&#x27;t",
    "&#59;", "&#x3b;", "&nbsp;space", "&copy; 2023", "&copy", "&COPY;", "&AMP;", "&Amp;", "&notit;",
    "&notin;", "&ampx;", "&ampx", "&#0;", "&#13;", "&#128;", "&#x80;", "&#1;", "&#xd800;", "&#1114112;",
    "&#99999999999999999999;", "&#65;&#66;", "&#x41;", "&#X41;", "&#65", "& amp;", "&;", "&#;", "&#x;",
    "fish &amp; chips", "R&amp;D", "a&b", "&eacute;", "&EACUTE;", "P&EACUTE;REZ", "&SZLIG;", "&ntilde;",
    "&NTILDE;", "&nTILDE;", "&frac12;", "&hellip;", "&mdash;", "&rarr;", "&hearts;", "&semi;", "&sem",
    "&a.b;", "&amp-x;", "&thisisaverylongnamethatisnotanentityatallreally;", "&amp;lt;", "x&ltyz",
    "&lt&gt", "&LT;", "&GT", "&Ccedil;", "&ccedil", "&#x1F600;", "&#128512;", "&zwj;", "&ZeroWidthSpace;",
    "(&amp;:1.2)", "&amp;\n<b>&amp;", "<b>&amp;\n&amp;", "&amp;\n&amp;",
]


def random_prompts(n, seed):
    """Prompts mixed from vocabulary words, digits, punctuation and Unicode."""
    rng = random.Random(seed)
    words = ["girl", "boy", "cat", "dog", "masterpiece", "quality", "worst", "best", "detailed", "hands",
             "fingers", "negative", "embedding", "lora", "photo", "portrait", "landscape", "sunset", "neon",
             "cyberpunk", "anime", "realistic", "octane", "render", "unreal", "engine", "trending", "artstation"]
    pieces = ["(", ")", "[", "]", ":", ",", ".", "!", "?", "'", "'s", "'ll", "-", "_", "/", "\\", "&", "#",
              "1.2", "0.8", "42", "2023", " ", "  ", "\t", "\n", "é", "ß", "Σ", "ç", "日本", "🙂", "★", "½",
              "BREAK", "AND", "'S", "'T", "'RE", "\u00a0", "\u3000"]
    out = []
    for _ in range(n):
        k = rng.randint(1, 25)
        s = []
        for _ in range(k):
            if rng.random() < 0.55:
                w = rng.choice(words)
                if rng.random() < 0.2:
                    w = w.upper()
                elif rng.random() < 0.2:
                    w = w.capitalize()
                s.append(w)
            else:
                s.append(rng.choice(pieces))
            if rng.random() < 0.6:
                s.append(rng.choice([" ", ", ", ",", " "]))
        out.append("".join(s))
    return out


def write_unicode_tables(out_dir):
    """How the reference's pattern classes every code point, and str.lower().

    classes.txt: "START CLASS" lines (hex), each class holding until the next
    start: L = [\\p{L}], N = [\\p{N}], S = \\s, O = [^\\s\\p{L}\\p{N}], - = none
    of them (skipped by findall), x = surrogates (not in a str from UTF-8).
    All with IGNORECASE, as the reference compiles them.
    lower.txt: "CP LOWERED..." (hex) for every code point that str.lower()
    changes (without context: the final-sigma rule is tested by prompts).
    """
    import regex
    flags = regex.IGNORECASE
    pats = [("L", regex.compile(r"[\p{L}]", flags)), ("N", regex.compile(r"[\p{N}]", flags)),
            ("S", regex.compile(r"\s", flags)), ("O", regex.compile(r"[^\s\p{L}\p{N}]", flags))]
    runs = []
    prev = None
    lower = []
    for c in range(0x110000):
        if 0xD800 <= c <= 0xDFFF:
            k = "x"
        else:
            ch = chr(c)
            k = next((name for name, pat in pats if pat.match(ch)), "-")
            lo = ch.lower()
            if lo != ch:
                lower.append("%x %s" % (c, " ".join("%x" % ord(x) for x in lo)))
        if k != prev:
            runs.append("%x %s" % (c, k))
            prev = k
    with open(os.path.join(out_dir, "classes.txt"), "w") as f:
        f.write("# regex %s, Python %s\n" % (regex.__version__, sys.version.split()[0]))
        f.write("\n".join(runs) + "\n")
    with open(os.path.join(out_dir, "lower.txt"), "w") as f:
        f.write("\n".join(lower) + "\n")
    return len(runs), len(lower)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clip", default=os.path.join(ROOT, "..", "shared", "clip"))
    args = ap.parse_args()

    sys.modules["ftfy"] = types.SimpleNamespace(fix_text=lambda s: s)  # stub: see the docstring
    sys.path.insert(0, os.path.abspath(args.clip))
    import simple_tokenizer  # noqa: E402

    tok = simple_tokenizer.SimpleTokenizer(os.path.join(os.path.abspath(args.clip), "bpe_simple_vocab_16e6.txt.gz"))
    assert len(tok.encoder) == 49408, len(tok.encoder)

    prompts = []
    seen = set()
    for group, items in (("real", REAL), ("ascii", ASCII), ("unicode", UNICODE), ("entity", ENTITIES),
                         ("random", random_prompts(200, 1234))):
        for p in items:
            if p not in seen:
                seen.add(p)
                prompts.append((group, p))

    out_dir = os.path.join(ROOT, "testdata", "tokens")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "expected.jsonl"), "w", encoding="utf-8") as f:
        for group, p in prompts:
            f.write(json.dumps({"group": group, "text": p, "ids": tok.encode(p)}, ensure_ascii=False) + "\n")

    # decode([id]) for every id.
    decoded = [tok.decode([i]) for i in range(len(tok.encoder))]
    with gzip.GzipFile(os.path.join(out_dir, "decode.json.gz"), "wb", mtime=0) as g:
        g.write(json.dumps(decoded, ensure_ascii=False).encode("utf-8"))

    # The A1111 path: the Hugging Face CLIPTokenizer runs
    # whitespace_clean(ftfy.fix_text(text)).lower() and never html.unescape.
    # Here the reference runs with html.unescape disabled on the text ftfy
    # would hand over; that text ("after_ftfy") is written by hand from
    # ftfy 6's fix_text/unescape_html (entities ending in ";" only, none
    # from the first line with "<" on, numeric ones unless they decode to
    # ";"), which cannot run here.
    a1111 = [
        ("&amp;", "&"),
        ("&amp", "&amp"),
        ("&amp;amp;", "&"),
        ("fish &amp; chips", "fish & chips"),
        ("&lt;3", "<3"),
        ("&lt;3 <b>", "&lt;3 <b>"),
        ("&amp;\n<b>&amp;", "&\n<b>&amp;"),
        ("<b>&amp;\n&amp;", "<b>&amp;\n&amp;"),
        ("&#59;", "&#59;"),
        ("&#39;s", "'s"),
        ("&copy", "&copy"),
        ("&notit;", "&notit;"),
        ("&EACUTE;", "\u00c9"),
        ("&quot;hi&quot;", "\"hi\""),
        ("&nbsp;space", "\u00a0space"),
    ]
    real_unescape = html.unescape
    html.unescape = lambda s: s
    try:
        with open(os.path.join(out_dir, "a1111.jsonl"), "w", encoding="utf-8") as f:
            for text, after in a1111:
                f.write(json.dumps({"text": text, "after_ftfy": after, "ids": tok.encode(after),
                                    "openai_ids": None}, ensure_ascii=False) + "\n")
    finally:
        html.unescape = real_unescape
    # Fill in what OpenAI's encode gives for the same texts, to show the difference.
    lines = [json.loads(l) for l in open(os.path.join(out_dir, "a1111.jsonl"), encoding="utf-8")]
    with open(os.path.join(out_dir, "a1111.jsonl"), "w", encoding="utf-8") as f:
        for d in lines:
            d["openai_ids"] = tok.encode(d["text"])
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    n_runs, n_lower = write_unicode_tables(out_dir)
    print(f"{n_runs} character-class runs, {n_lower} lower-case mappings")
    print(f"{len(prompts)} prompts, {len(decoded)} ids, {len(a1111)} A1111 entity cases -> {out_dir}")


if __name__ == "__main__":
    main()
