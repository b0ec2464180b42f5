// The tiktoken side of bench/tokenizer_vs_tiktoken.sh: npm tiktoken (the WASM build of tiktoken's
// Rust core, the one golden/tokenizer uses), configured like Meta's tokenizer.py.
//
//   node bench/tiktoken_encode.cjs --write-corpus OUT.json   # the benchmark text (see below)
//   node bench/tiktoken_encode.cjs --time CORPUS.json        # encode it; prints JSON with MB/s
//
// The corpus is a JSON array of documents: every text file tracked by git in this repository
// (Markdown, C++, Python, CMake: English prose and code) and the golden strings of
// golden/tokenizer/cases.json in groups of 20 (CJK, Hangul, Devanagari, Arabic, Hebrew, emoji,
// numbers, whitespace), repeated in order until the total passes 4 MB. No document has a run over
// 25,000 characters, so Meta's cuts are no-ops and plain tiktoken.encode gives Meta's ids.
"use strict";

const { execFileSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..");
const { Tiktoken } = require(path.join(root, "golden", "tokenizer", "node_modules", "tiktoken"));

const O200K_PATTERN = String.raw`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`;

function writeCorpus(out) {
  const files = execFileSync("git", ["ls-files", "*.md", "*.cpp", "*.hpp", "*.py", "*.cmake", "*CMakeLists.txt"],
    { cwd: root, encoding: "utf8" }).split("\n").filter((f) => f.length > 0).sort();
  const documents = files.map((f) => fs.readFileSync(path.join(root, f), "utf8"));
  const golden = JSON.parse(fs.readFileSync(path.join(root, "golden", "tokenizer", "cases.json"), "utf8"));
  const strings = golden.cases.filter((c) => c.text !== undefined).map((c) => c.text);
  for (let i = 0; i < strings.length; i += 20) documents.push(strings.slice(i, i + 20).join("\n"));
  const corpus = [];
  let bytes = 0;
  for (let i = 0; bytes < 4 * 1024 * 1024; i++) {
    const document = documents[i % documents.length];
    corpus.push(document);
    bytes += Buffer.byteLength(document, "utf8");
  }
  fs.writeFileSync(out, JSON.stringify(corpus));
  console.log(JSON.stringify({ documents: corpus.length, bytes, sources: files.length }));
}

function time(corpusPath) {
  const corpus = JSON.parse(fs.readFileSync(corpusPath, "utf8"));
  const tokenizerPath = process.env.LLAMA4_TOKENIZER ||
    path.join(root, "..", "shared", "llama4", "tokenizer.model");
  const ranks = fs.readFileSync(tokenizerPath, "utf8");
  const loadStart = process.cpuUsage();
  const encoding = new Tiktoken(ranks, { "<|begin_of_text|>": 200000 }, O200K_PATTERN);
  const loadUsage = process.cpuUsage(loadStart);
  const loadSeconds = (loadUsage.user + loadUsage.system) / 1e6;
  const bytes = corpus.reduce((sum, d) => sum + Buffer.byteLength(d, "utf8"), 0);
  let best = Infinity;
  let tokens = 0;
  let checksum = 0;
  // CPU time of this process (user + system), as Google Benchmark reports for ours: other work on
  // the machine then slows neither side.
  const cpuSeconds = () => {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1e6;
  };
  for (let repeat = 0; repeat < 5; repeat++) {
    const start = cpuSeconds();
    tokens = 0;
    checksum = 0;
    for (const document of corpus) {
      const ids = encoding.encode(document, [], []);
      tokens += ids.length;
      for (const id of ids) checksum = (Math.imul(checksum, 31) + id) >>> 0;
    }
    best = Math.min(best, cpuSeconds() - start);
  }
  console.log(JSON.stringify({ bytes, tokens, checksum, seconds: best, mb_per_s: bytes / 1e6 / best,
    load_seconds: loadSeconds }));
}

const [flag, file] = process.argv.slice(2);
if (flag === "--write-corpus" && file) writeCorpus(file);
else if (flag === "--time" && file) time(file);
else {
  console.error("usage: node bench/tiktoken_encode.cjs --write-corpus OUT.json | --time CORPUS.json");
  process.exit(2);
}
