// Golden token ids for chapter 02, from OpenAI's tiktoken configured exactly like Meta's
// models/llama4/tokenizer.py.
//
//   cd golden/tokenizer && npm ci     # installs tiktoken (WASM build of tiktoken's Rust core)
//   node generate.cjs                 # writes cases.json (Meta's tokenizer.model) and
//                                     # toy-cases.json (the hand-made vocabulary, toy.tiktoken)
//
// The tokenizer path is $LLAMA4_TOKENIZER, else ../../../shared/llama4/tokenizer.model. The output
// is deterministic: the strings come from a seeded generator, and JSON is written in a fixed order.
//
// What "exactly like Meta" means, and what this file therefore does on top of tiktoken:
//   - ranks from tokenizer.model, pattern O200K_PATTERN, the 2,048 special tokens numbered from
//     the number of ranks (Meta's list, rebuilt below);
//   - Meta's encode(): cut the text into 400,000-character windows, cut each window where a run of
//     Python-whitespace or non-whitespace characters would exceed 25,000, and call tiktoken on
//     each piece with allowed_special = set() (or "all") and disallowed_special = ();
//   - bos=True prepends <|begin_of_text|>.
// "Characters" are Python's: code points. JavaScript strings count UTF-16 units, so the code below
// works on Array.from(text), which yields code points.
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const { Tiktoken } = require("tiktoken");

const O200K_PATTERN = String.raw`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`;

const WINDOW_CHARACTERS = 400000;  // Meta's TIKTOKEN_MAX_ENCODE_CHARS
const MAX_RUN_CHARACTERS = 25000;  // Meta's MAX_NO_WHITESPACES_CHARS

// ---------------------------------------------------------------------------------------------
// Meta's special tokens, in Meta's order.

function reserved(name, count, start) {
  const tokens = [];
  for (let i = start; i < start + count; i++) tokens.push(`<|${name}_reserved_special_token_${i}|>`);
  return tokens;
}

function llama4SpecialTokens() {
  const basic = ["<|begin_of_text|>", "<|end_of_text|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>"];
  const textPostTrain = [
    "<|header_start|>", "<|header_end|>", "<|eom|>", "<|eot|>", "<|step|>",
    ...reserved("text_post_train", 6, 0),
    "<|python_start|>", "<|python_end|>", "<|finetune_right_pad|>",
    ...reserved("text_post_train", 61, 8),
  ];
  const vision = [
    "<|image_start|>", "<|image_end|>", "<|vision_reserved_special_token_0|>", "<|vision_reserved_special_token_1|>",
    "<|tile_x_separator|>", "<|tile_y_separator|>", ...reserved("vision", 4, 2), "<|image|>",
    "<|vision_reserved_special_token_6|>", "<|patch|>", ...reserved("vision", 1041, 7),
  ];
  const reasoning = [...reserved("reasoning", 8, 0), "<|reasoning_thinking_start|>", "<|reasoning_thinking_end|>"];
  const named = [...basic, ...textPostTrain, ...vision, ...reasoning];
  const generic = [];
  for (let i = 0; i < 2048 - named.length; i++) generic.push(`<|reserved_special_token_${i}|>`);
  return [...named, ...generic];
}

// ---------------------------------------------------------------------------------------------
// Meta's Tokenizer.encode on top of tiktoken.

// Python's str.isspace().
const PYTHON_SPACES = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
  0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029,
  0x202f, 0x205f, 0x3000]);
const isSpace = (character) => PYTHON_SPACES.has(character.codePointAt(0));

// Meta's _split_whitespaces_or_nonwhitespaces, over an array of code points.
function* splitRuns(characters, maxRun) {
  let runLength = 0;
  let runIsSpace = characters.length > 0 ? isSpace(characters[0]) : false;
  let sliceStart = 0;
  for (let i = 0; i < characters.length; i++) {
    const nowSpace = isSpace(characters[i]);
    if (runIsSpace !== nowSpace) {
      runLength = 1;
      runIsSpace = nowSpace;
    } else {
      runLength += 1;
      if (runLength > maxRun) {
        yield characters.slice(sliceStart, i).join("");
        sliceStart = i;
        runLength = 1;
      }
    }
  }
  yield characters.slice(sliceStart).join("");
}

function metaEncode(encoding, text, allowSpecial) {
  const characters = Array.from(text);
  const ids = [];
  for (let i = 0; i < characters.length; i += WINDOW_CHARACTERS) {
    for (const piece of splitRuns(characters.slice(i, i + WINDOW_CHARACTERS), MAX_RUN_CHARACTERS)) {
      ids.push(...encoding.encode(piece, allowSpecial ? "all" : [], []));
    }
  }
  return ids;
}

// ---------------------------------------------------------------------------------------------
// The strings. Every case has a kind (for the README's table) and the text; very long texts are
// stored as "parts": [[string, repeat], ...] so the file stays small.

function mulberry32(seed) {
  return function () {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = mulberry32(20250405);
const pick = (list) => list[Math.floor(random() * list.length)];
const integer = (low, high) => low + Math.floor(random() * (high - low + 1));
const repeat = (n, make) => Array.from({ length: n }, make).join("");

const SCRIPTS = {
  cjk: ["東京", "北京市", "日本語のテキスト", "漢字", "中文分词测试", "我爱你", "ひらがな", "カタカナ", "東京タワー", "你好，世界！", "「引用」", "全角ＡＢＣ１２３"],
  hangul: ["안녕하세요", "한국어", "대한민국", "서울특별시", "ㄱㄴㄷ", "한글 자모", "세종대왕"],
  devanagari: ["नमस्ते", "हिन्दी", "भारत", "संस्कृतम्", "क्षत्रिय", "१२३४५", "ज़िंदगी"],
  arabic: ["مرحبا", "العربية", "السلام عليكم", "كِتَابٌ", "٠١٢٣٤٥٦٧٨٩", "ﷺ", "لا إله"],
  hebrew: ["שלום", "עברית", "יְרוּשָׁלַיִם", "בְּרֵאשִׁית", "ש״ח"],
  latin: ["café", "naïve", "Straße", "İstanbul", "ǅemal", "Ǆ", "ŉ", "Ωmega", "Ελληνικά", "Привет", "ДЕЛО", "Ǉubljana"],
  marks: ["e\u0301", "cafe\u0301", "n\u0303o", "a\u0308\u0304", "Z\u0351\u0352a\u0353l\u0354g\u0355o\u0356", "\u0301alone", "x\u20dd", "A\u030a", "\u0915\u094d\u0937", "o\u0308\u0301\u0323"],
  emoji: ["👋", "👋🏽", "👨‍👩‍👧‍👦", "🧑🏾‍💻", "🏳️‍🌈", "🇺🇸", "🇯🇵🇰🇷", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "1️⃣", "❤️", "🙂🙃", "🦙", "✊🏿", "🫠", "👩‍❤️‍💋‍👨"],
  symbols: ["©", "™", "€100", "£", "¥", "°C", "±", "∑", "√2", "→", "…", "—", "–", "«»", "‹›", "§", "¶", "•", "½"],
};

const WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "hello", "world", "token", "Llama",
  "model", "attention", "HTTPServer", "iPhone", "McDonald", "NASA", "x", "I", "a", "JSON", "camelCase",
  "snake_case", "kebab-case", "état", "über", "東京", "안녕"];
const CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];
const WHITESPACE = [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", "\r\n\r\n", "\r", " \n", "\n ", "\u00a0", "\u3000", "\u2003", "\u0085", "\u2028", "\u000b", "\u000c", "\u001c", "\u180e"];

function caseVariants(text) {
  // Every upper/lower combination of the letters (at most 3 letters in a contraction).
  const letters = Array.from(text);
  const variants = [];
  const positions = letters.map((c, i) => (/[a-z]/i.test(c) ? i : -1)).filter((i) => i >= 0);
  for (let mask = 0; mask < 1 << positions.length; mask++) {
    const copy = letters.slice();
    positions.forEach((p, bit) => {
      copy[p] = mask & (1 << bit) ? copy[p].toUpperCase() : copy[p].toLowerCase();
    });
    variants.push(copy.join(""));
  }
  return variants;
}

function handWritten() {
  const cases = [];
  const add = (kind, text) => cases.push({ kind, text });
  add("spec", "Hello world!\n\n  It's 2025-04-05, ok?  ");
  add("spec", "You are a helpful assistant");
  add("spec", "Answer who are you in the form of jeopardy?");
  add("spec", "system"); add("spec", "user"); add("spec", "assistant"); add("spec", "ipython"); add("spec", "\n\n");
  add("edge", ""); add("edge", " "); add("edge", "a"); add("edge", "\u0000"); add("edge", "\u0000\u0001\u0002\u007f");
  add("edge", "\uffff"); add("edge", "\u{10ffff}"); add("edge", "\ue000\uf8ff"); add("edge", "\u0378"); add("edge", "\ufffd");
  add("edge", "\ufeffBOM at start"); add("edge", "zero\u200bwidth\u200cjoiner\u200d"); add("edge", "soft\u00adhyphen");
  // Contractions: every letter case of every suffix, after words of both cases and after nothing.
  for (const suffix of CONTRACTIONS) {
    for (const variant of caseVariants(suffix)) {
      add("contraction", `it${variant}`); add("contraction", `IT${variant}`); add("contraction", variant);
      add("contraction", ` ${variant} x`); add("contraction", `東京${variant}`); add("contraction", `123${variant}`);
    }
  }
  for (const text of ["don't", "DON'T", "Don'T", "we'Ve", "I'M", "you'RE", "she'LL", "they'D", "o'clock", "rock'n'roll",
    "'tis", "ma'am", "y'all", "it's's", "it'ss", "it’s", "it‘s", "it`s", "ſ", "it'ſ", "IT'ſ", "'ſ", "it'K", "it'\u212a",
    "İ'S", "ǅ's", "ǆ'S"]) add("contraction", text);
  // Numbers.
  for (let n = 1; n <= 40; n++) add("number", repeat(n, (_, i) => String((i * 7 + n) % 10)));
  for (const text of ["3.14159", "1,000,000", "1e10", "-42", "+7", "0x1F", "1/2", "2025-04-05", "12:34:56", "v1.2.3",
    "٣٤٥", "१२३", "Ⅻ", "½¾", "①②③", "²³", "𝟙𝟚𝟛", "１２３４", "12abc34", "abc123def"]) add("number", text);
  // Code.
  for (const text of [
    "def f(x):\n    return x * 2\n",
    "int main(int argc, char** argv) {\n\treturn 0;\n}\n",
    "for (let i = 0; i < n; i++) { sum += a[i]; }",
    "#include <vector>\n#include \"common/tensor.hpp\"\n",
    "SELECT * FROM users WHERE id = 42;",
    "if x != None and y >= 3:\n        pass",
    "<div class=\"a\"><span>hi</span></div>",
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}",
    "$ ls -la /usr/local/bin | grep -v '^d'",
    "path/to/file.txt\\windows\\path",
    "https://example.com/path?query=1&b=2#frag",
    "x=>x**2;//comment\n/* block */",
    "    \n\t\t\n  \t  code\r\n",
    "fn main() -> Result<(), Box<dyn Error>> { Ok(()) }",
    "@@ -1,3 +1,4 @@\n-old\n+new\n",
  ]) add("code", text);
  // Whitespace: runs, tabs, CRLF, trailing spaces, unusual spaces, whitespace before letters.
  for (const ws of WHITESPACE) {
    add("whitespace", ws); add("whitespace", `a${ws}b`); add("whitespace", `word${ws}`); add("whitespace", `${ws}word`);
    add("whitespace", `${ws}${ws}!`); add("whitespace", `x${ws}${ws}${ws}y`);
  }
  for (let n = 1; n <= 24; n++) {
    add("whitespace", " ".repeat(n)); add("whitespace", `a${" ".repeat(n)}b`); add("whitespace", "\t".repeat(n) + "x");
    add("whitespace", "\n".repeat(n)); add("whitespace", "end" + " ".repeat(n));
  }
  // Scripts, marks, emoji, symbols.
  for (const [kind, list] of Object.entries(SCRIPTS)) for (const text of list) {
    add(kind, text); add(kind, ` ${text}`); add(kind, `${text}!`); add(kind, `A${text}b`);
  }
  // Special-token text: plain text by default, special tokens when allowed.
  for (const text of ["<|begin_of_text|>", "<|eot|>", "Hi<|eot|>there", "<|header_start|>user<|header_end|>\n\nhi<|eot|>",
    "<|eot", "eot|>", "<|<|eot|>|>", "<|eot|><|eot|>", " <|eot|> ", "<|reserved_special_token_903|>",
    "<|reserved_special_token_904|>", "<|image|><|patch|><|patch|>", "<|python_start|>print(1)<|python_end|>",
    "<|reasoning_thinking_start|>hmm<|reasoning_thinking_end|>", "<|endoftext|>", "<|EOT|>", "<||>", "<|", "|>",
    "<|begin_of_text|><|begin_of_text|>", "a\n<|eom|>\n", "<|finetune_right_pad|>", "  <|step|>  "]) add("special", text);
  return cases;
}

function generated() {
  const cases = [];
  const add = (kind, text) => cases.push({ kind, text });
  const scripts = Object.values(SCRIPTS).flat();
  for (let i = 0; i < 250; i++) {  // sentences with contractions, case and punctuation
    const words = repeat(integer(2, 9), () => pick([" ", " ", "  ", "\t", "\n"]) + pick(WORDS) +
      (random() < 0.3 ? pick(CONTRACTIONS) : "") + (random() < 0.2 ? pick([",", ".", "!", "?", ";", "...", ":"]) : ""));
    add("sentence", random() < 0.5 ? words.trimStart() : words);
  }
  for (let i = 0; i < 250; i++) {  // numbers of every length mixed with text
    const digits = repeat(integer(1, 30), () => String(integer(0, 9)));
    add("number", pick(["", " ", "$", "#", "x", "v", "-"]) + digits + pick(["", " ", "px", "%", ".5", ",000", "th", "\n"]));
  }
  for (let i = 0; i < 250; i++) {  // whitespace mixes
    add("whitespace", repeat(integer(1, 6), () => pick(WHITESPACE) + (random() < 0.6 ? pick(WORDS) : pick(["!", "-", "(", "1"]))));
  }
  for (let i = 0; i < 300; i++) {  // scripts, marks and emoji mixed
    add("mixed", repeat(integer(1, 6), () => pick(scripts) + pick(["", " ", "", ", ", "\n", "'s"])));
  }
  for (let i = 0; i < 200; i++) {  // code-like lines
    const identifier = () => pick(["x", "value", "getHTTPResponse", "my_var", "i", "TOKEN", "λ", "名前"]);
    add("code", pick(["", "    ", "\t", "  "]) + identifier() + pick([" = ", "(", ".", "->", "::", " += ", "[", " == "]) +
      identifier() + pick(["", ")", "];", ";\n", " {\n", ":\n", " // note", "  # comment"]));
  }
  for (let i = 0; i < 150; i++) {  // special-token text inside ordinary text
    const specials = ["<|eot|>", "<|eom|>", "<|begin_of_text|>", "<|header_start|>", "<|header_end|>", "<|patch|>",
      "<|reserved_special_token_7|>", "<|not_a_token|>", "<|", "|>"];
    add("special", repeat(integer(1, 4), () => pick(["", " ", "\n", pick(WORDS), " " + pick(WORDS)]) + pick(specials)));
  }
  for (let i = 0; i < 200; i++) {  // random code points from many blocks
    const blocks = [[0x20, 0x7e], [0xa0, 0x24f], [0x300, 0x36f], [0x370, 0x3ff], [0x400, 0x4ff], [0x590, 0x5ff],
      [0x600, 0x6ff], [0x900, 0x97f], [0x3040, 0x30ff], [0x4e00, 0x4eff], [0xac00, 0xacff], [0x1f300, 0x1f5ff],
      [0x1f900, 0x1f9ff], [0x2000, 0x206f], [0xfe00, 0xfe0f], [0x1f1e6, 0x1f1ff], [0x0, 0x1f]];
    add("random", repeat(integer(1, 12), () => {
      const [low, high] = pick(blocks);
      return String.fromCodePoint(integer(low, high));
    }));
  }
  return cases;
}

// Long runs around Meta's 25,000-character cut and the 400,000-character window.
function longCases() {
  const cases = [];
  const add = (kind, parts) => cases.push({ kind, parts });
  for (const n of [24999, 25000, 25001, 30000, 50001]) add("long", [[" ", n]]);
  add("long", [["a", 25001]]);
  add("long", [["x", 1], ["ab", 20000]]);
  add("long", [["\n", 26000]]);
  add("long", [["7", 25003]]);
  add("long", [["東", 25005]]);
  add("long", [["🙂", 25001]]);  // 4-byte characters: the cut counts code points, not bytes or UTF-16
  add("long", [["word ", 6000], ["a", 25010], [" ", 3]]);
  add("long", [["a", 24996], ["<|eot|>", 1], ["b", 10]]);  // the 25,000 cut lands inside special-token text
  add("long", [["\u001c", 25002], ["x", 2]]);  // Python whitespace that is not \s
  add("long", [["x", 1], [" the", 100005]]);  // the 400,000-character window cuts " the" into " th" | "e"
  return cases;
}

// ---------------------------------------------------------------------------------------------

function tiktokenVersion() {
  const manifest = path.join(__dirname, "node_modules", "tiktoken", "package.json");
  return JSON.parse(fs.readFileSync(manifest, "utf8")).version;
}

const expand = (parts) => parts.map(([text, n]) => text.repeat(n)).join("");

// Ids as [[id, count], ...] runs: used only for the long cases.
function runLengths(ids) {
  const runs = [];
  for (const id of ids) {
    if (runs.length > 0 && runs[runs.length - 1][0] === id) runs[runs.length - 1][1] += 1;
    else runs.push([id, 1]);
  }
  return runs;
}

const sameIds = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

// Writes outPath: tiktoken's ids for `cases` with the ranks in ranksPath, Meta's special tokens and
// pattern. `extraHeader` adds fields to the file's header (generate_trained.cjs says what the ranks
// were trained on).
function run(name, ranksPath, outPath, cases, extraHeader = {}) {
  const ranksText = fs.readFileSync(ranksPath, "utf8");
  const rankCount = ranksText.split("\n").filter((line) => line.length > 0).length;
  const specials = llama4SpecialTokens();
  const specialIds = Object.fromEntries(specials.map((token, i) => [token, rankCount + i]));
  const encoding = new Tiktoken(ranksText, specialIds, O200K_PATTERN);
  const bosId = specialIds["<|begin_of_text|>"];

  const out = [];
  let differing = 0;
  for (const c of cases) {
    const text = c.parts ? expand(c.parts) : c.text;
    const ids = metaEncode(encoding, text, false);
    const special = metaEncode(encoding, text, true);
    const entry = { kind: c.kind };
    if (c.parts) entry.parts = c.parts; else entry.text = text;
    if (c.parts) entry.ids_runs = runLengths(ids); else entry.ids = ids;
    if (!sameIds(ids, special)) {
      differing++;
      if (c.parts) entry.special_ids_runs = runLengths(special); else entry.special_ids = special;
    }
    out.push(entry);
  }
  encoding.free();

  const header = {
    what: `Golden ids from tiktoken configured like Meta's tokenizer.py (${name}); see golden/tokenizer/README.md`,
    generator: "golden/tokenizer/generate.cjs",
    tiktoken: `npm tiktoken ${tiktokenVersion()}`,
    node: process.version,
    tokenizer: path.basename(ranksPath),
    tokenizer_sha256: crypto.createHash("sha256").update(fs.readFileSync(ranksPath)).digest("hex"),
    base_tokens: rankCount,
    bos_id: bosId,
    eos_id: specialIds["<|end_of_text|>"],
    ...extraHeader,
    pattern: O200K_PATTERN,
    note: "ids: encode(text, bos=False, eos=False) with special-token text as plain text; special_ids (only where " +
      "different): allowed_special='all'. encode(text, bos=True) is [bos_id] + ids. Long texts are stored as " +
      "parts [[string, repeat], ...] and their ids as runs [[id, count], ...].",
  };
  // One case per line keeps diffs readable.
  const lines = out.map((entry) => "  " + JSON.stringify(entry));
  const text = "{\n" + Object.entries(header).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)},\n`).join("") +
    `  "cases": [\n${lines.map((l) => "  " + l).join(",\n")}\n  ]\n}\n`;
  fs.writeFileSync(outPath, text);
  const kinds = {};
  for (const c of out) kinds[c.kind] = (kinds[c.kind] || 0) + 1;
  console.log(`${outPath}: ${out.length} cases (${differing} differ with special tokens allowed), ` +
    `${(text.length / 1e6).toFixed(2)} MB`);
  console.log("  kinds:", JSON.stringify(kinds));
}

function main() {
  const here = __dirname;
  const real = process.env.LLAMA4_TOKENIZER || path.join(here, "..", "..", "..", "shared", "llama4", "tokenizer.model");
  const all = [...handWritten(), ...generated(), ...longCases()];
  if (fs.existsSync(real)) run("Meta's tokenizer.model", real, path.join(here, "cases.json"), all);
  else console.error(`no tokenizer.model at ${real} (set LLAMA4_TOKENIZER); cases.json not written`);
  // The toy vocabulary: the same strings except the longest, which would be mostly single bytes.
  const toyCases = all.filter((c) => !c.parts || expand(c.parts).length < 40000);
  run("the hand-made vocabulary", path.join(here, "toy.tiktoken"), path.join(here, "toy-cases.json"), toyCases);
}

// generate_trained.cjs reuses the strings and the writer.
module.exports = { handWritten, longCases, expand, run };

if (require.main === module) main();
