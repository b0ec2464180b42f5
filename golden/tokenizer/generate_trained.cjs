// Golden token ids for chapter 11's trained tokenizer: tiktoken's ids with the ranks we trained on
// the Bible's train split, for validation verses, chat-format strings and chapter 02's edge cases.
//
//   cd golden/tokenizer && npm ci          # once: installs tiktoken
//   node generate_trained.cjs [--ranks N]  # N defaults to 4096
//
// One command does both steps:
//   1. trains N ranks with our trainer, writing bible-N.tiktoken:
//        build/bin/chapter11_train_tokenizer --text build-data/bible/train.txt --ranks N
//            --out golden/tokenizer/bible-N.tiktoken
//      (the trainer is $LLAMA4_TRAIN_TOKENIZER, else build/bin/chapter11_train_tokenizer; the text
//      is in $LLAMA4_BIBLE_DIR, else build-data/bible, made by scripts/prepare_bible.py);
//   2. runs tiktoken, configured exactly as generate.cjs configures it for Meta's file (these ranks,
//      Meta's 2,048 special tokens numbered from N, the o200k pattern, Meta's long-run cuts), on
//      the strings below, writing bible-cases.json (its "tokenizer" field names the ranks file).
// tests/chapter11/test_bpe_training.cpp checks that our tokenizer gives the same ids, and that
// training again on the train split gives the same ranks file.
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const { spawnSync } = require("child_process");
const { handWritten, longCases, expand, run } = require("./generate.cjs");

const here = __dirname;
const repository = path.join(here, "..", "..");

function options() {
  const args = process.argv.slice(2);
  let ranks = 4096;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--ranks" && i + 1 < args.length && /^\d+$/.test(args[i + 1])) ranks = Number(args[++i]);
    else {
      console.error("usage: node generate_trained.cjs [--ranks N]");
      process.exit(2);
    }
  }
  return { ranks };
}

function train(trainer, trainPath, ranks, ranksPath) {
  if (!fs.existsSync(trainer)) {
    console.error(`no trainer at ${trainer}: build it (cmake --build build --target chapter11_train_tokenizer) ` +
      "or set LLAMA4_TRAIN_TOKENIZER");
    process.exit(1);
  }
  const result = spawnSync(trainer, ["--text", trainPath, "--ranks", String(ranks), "--out", ranksPath],
    { stdio: ["ignore", "inherit", "inherit"] });
  if (result.status !== 0) {
    console.error(`${trainer} failed (status ${result.status})`);
    process.exit(1);
  }
}

// validation.txt holds chapter blocks ("Genesis 10", verse lines, a blank line): the KJV's first,
// then the WEB's, starting again at the same first chapter.
function validationChapters(validationPath) {
  const blocks = fs.readFileSync(validationPath, "utf8").split("\n\n").filter((block) => block.length > 0);
  const secondStart = blocks.findIndex((block, i) => i > 0 && block.split("\n")[0] === blocks[0].split("\n")[0]);
  if (secondStart < 0) throw new Error(`${validationPath}: cannot find where the WEB's chapters start`);
  return { kjv: blocks.slice(0, secondStart), web: blocks.slice(secondStart) };
}

function bibleCases(validationPath) {
  const cases = [];
  const add = (kind, text) => cases.push({ kind, text });
  const chapters = validationChapters(validationPath);
  for (const [translation, blocks] of Object.entries(chapters)) {
    // Every 20th verse, whole chapters first and last (heading, lines and the blank line after).
    const verses = blocks.flatMap((block) => block.split("\n").slice(1));
    verses.forEach((verse, i) => { if (i % 20 === 0) add(`verse-${translation}`, verse); });
    add("chapter", blocks[0] + "\n\n");
    add("chapter", blocks[blocks.length - 1] + "\n\n");
  }
  return cases;
}

// What encode_dialog encodes (common/tokenizer/chat_format.hpp): the role names and "\n\n" on their
// own, the contents, and a whole rendered dialog (with special tokens allowed, special_ids).
function chatCases() {
  const cases = [];
  const add = (text) => cases.push({ kind: "chat", text });
  for (const text of ["system", "user", "assistant", "ipython", "\n\n"]) add(text);
  const system = "You answer in the words of the King James Bible.";
  const question = "Who was the father of Methuselah?";
  const answer = "And Enoch lived sixty and five years, and begat Methuselah.";
  for (const text of [system, question, answer]) add(text);
  const header = (role) => `<|header_start|>${role}<|header_end|>\n\n`;
  add(`<|begin_of_text|>${header("system")}${system}<|eot|>${header("user")}${question}<|eot|>` +
    `${header("assistant")}${answer}<|eot|>${header("user")}And his son?<|eot|>${header("assistant")}`);
  return cases;
}

function sha256(file) {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

function main() {
  const { ranks } = options();
  const bibleDir = process.env.LLAMA4_BIBLE_DIR || path.join(repository, "build-data", "bible");
  const trainer = process.env.LLAMA4_TRAIN_TOKENIZER || path.join(repository, "build", "bin", "chapter11_train_tokenizer");
  const trainPath = path.join(bibleDir, "train.txt");
  const validationPath = path.join(bibleDir, "validation.txt");
  for (const file of [trainPath, validationPath]) {
    if (!fs.existsSync(file)) {
      console.error(`no ${file}: run scripts/setup.sh --train && python3 scripts/prepare_bible.py ` +
        "(or set LLAMA4_BIBLE_DIR)");
      process.exit(1);
    }
  }
  const ranksPath = path.join(here, `bible-${ranks}.tiktoken`);
  train(trainer, trainPath, ranks, ranksPath);
  // Chapter 02's strings, without the long ones that would be stored as tens of thousands of single
  // bytes (over 40,000 characters, or not ASCII: this vocabulary has few tokens beyond English).
  const isShortOrAscii = (c) => !c.parts || (expand(c.parts).length < 40000 && /^[\x00-\x7f]*$/.test(expand(c.parts)));
  const edgeCases = [...handWritten(), ...longCases()].filter(isShortOrAscii);
  const cases = [...bibleCases(validationPath), ...chatCases(), ...edgeCases];
  run(`ranks trained on the Bible's train split`, ranksPath, path.join(here, "bible-cases.json"), cases, {
    generator: "golden/tokenizer/generate_trained.cjs",
    trained_on: "build-data/bible/train.txt (scripts/prepare_bible.py)",
    trained_on_bytes: fs.statSync(trainPath).size,
    trained_on_sha256: sha256(trainPath),
    trainer: `build/bin/chapter11_train_tokenizer --text build-data/bible/train.txt --ranks ${ranks} --out golden/tokenizer/bible-${ranks}.tiktoken`,
  });
}

main();
