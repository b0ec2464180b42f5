#!/usr/bin/env python3
"""Chapter 13's fine-tuning data: conversations in Llama 4's chat format, made from the verse-aligned
King James and World English Bibles of chapter 11 (scripts/prepare_bible.py's verses.tsv).

    python3 scripts/prepare_bible.py                   # build-data/bible/verses.tsv
    python3 scripts/make_instructions.py [--bible DIR] [--out DIR]     # DIR: build-data/instructions

Three tasks, one conversation each per verse (a user message, the assistant's answer):

  rewrite    "Rewrite in modern English: <KJV verse>"          -> the WEB verse
  book       "Which book is this verse from? <KJV verse>"      -> the book's name ("1 Samuel")
  continue   "Continue: <first half of a KJV verse>"           -> the rest of it

and, with --repeat, a fourth in the training file only:

  repeat     "Repeat: <KJV verse>"                             -> the same verse

which teaches nothing a user asks for but what the rewrite needs most: to copy a span of the prompt
into the answer (most of a verse's characters are the same in both translations). With --repeat,
validation_repeat.jsonl holds the held-out verses as repeat conversations too, to measure copying
alone (chapter13_finetune --evaluate); validation.jsonl stays the same, so validation losses and
scores compare with runs trained without it.

With --close-rewrites MIN, the training file keeps only the rewrite conversations whose WEB verse
stays close to its KJV verse: a sentence chrF of at least MIN (0-100; the median pair scores about
65). Where the WEB translators reworded a verse freely, nothing in the KJV words predicts the WEB
words, and a 5.6 M-parameter model trained on such pairs learns to invent plausible modern text;
on the close pairs it learns what can be learned: keep the verse, modernise its words. The other
tasks and the validation files are unchanged.

The split is chapter 11's: a verse of a validation chapter (chapter number a multiple of 10) is
in validation.jsonl, every other verse in train.jsonl; nothing held out is trained on, in either
chapter. A verse is left out when the rewrite would not fit a 256-token training sequence (KJV +
WEB over MAX_PAIR_CHARACTERS characters; about 1 in 100) or, for "continue", when it has fewer than
MIN_CONTINUE_WORDS words. The same verses serve all three tasks.

Outputs (byte-identical on every run with the same verses.tsv): train.jsonl, validation.jsonl
({"task": ..., "reference": ..., "messages": [...]} per line; "task" and "reference" are for the
evaluation and are ignored by the trainer) and SOURCES.md with the counts.
"""
import argparse
import collections
import csv
import json
import os
import sys

MAX_PAIR_CHARACTERS = 520
MIN_CONTINUE_WORDS = 6
PROMPTS = {
    "rewrite": "Rewrite in modern English: ",
    "book": "Which book is this verse from? ",
    "continue": "Continue: ",
    "repeat": "Repeat: ",
}


def conversation(task, prompt, answer, reference):
    return {"task": task, "reference": reference,
            "messages": [{"role": "user", "content": PROMPTS[task] + prompt},
                         {"role": "assistant", "content": answer}]}


def character_ngrams(text, n):
    text = "".join(text.split())
    return collections.Counter(text[i:i + n] for i in range(len(text) - n + 1))


def sentence_chrf(answer, reference, orders=6, beta=2.0):
    """chrF of one pair (character n-grams 1..6 without whitespace, β 2): common/finetuning/chrf.cpp's
    score for a corpus of one sentence."""
    total, counted = 0.0, 0
    for n in range(1, orders + 1):
        a, r = character_ngrams(answer, n), character_ngrams(reference, n)
        if not a or not r:
            continue
        counted += 1
        matches = sum((a & r).values())
        precision, recall = matches / sum(a.values()), matches / sum(r.values())
        if precision + recall > 0:
            total += (1 + beta**2) * precision * recall / (beta**2 * precision + recall)
    return 100.0 * total / counted if counted else 0.0


def where_of(row):
    return f'{row["book"]} {row["chapter"]}:{row["verse"]}'


def conversations_of(row, repeat, min_rewrite_chrf=None):
    kjv, web, book = row["kjv"], row["web"], row["book"]
    where = where_of(row)
    out = []
    if min_rewrite_chrf is None or sentence_chrf(kjv, web) >= min_rewrite_chrf:
        out.append(conversation("rewrite", kjv, web, where))
    out.append(conversation("book", kjv, book, where))
    words = kjv.split(" ")
    if len(words) >= MIN_CONTINUE_WORDS:
        half = len(words) // 2
        out.append(conversation("continue", " ".join(words[:half]), " ".join(words[half:]), where))
    if repeat:
        out.append(repeat_of(row))
    return out


def repeat_of(row):
    return conversation("repeat", row["kjv"], row["kjv"], where_of(row))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bible", default="build-data/bible", help="where verses.tsv is")
    parser.add_argument("--out", default="build-data/instructions")
    parser.add_argument("--repeat", action="store_true",
                        help='add "Repeat: <KJV verse>" conversations to the training file')
    parser.add_argument("--close-rewrites", type=float, metavar="MIN",
                        help="train only on rewrites whose WEB verse scores at least MIN chrF "
                             "against the KJV verse")
    args = parser.parse_args()
    source = os.path.join(args.bible, "verses.tsv")
    if not os.path.exists(source):
        sys.exit(f"{source} does not exist: run scripts/prepare_bible.py first")
    splits = {"train": [], "validation": []}
    if args.repeat:
        splits["validation_repeat"] = []
    left_out = collections.Counter()
    with open(source, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row["kjv"]) + len(row["web"]) > MAX_PAIR_CHARACTERS:
                left_out["too long"] += 1
                continue
            split = row["split"]
            training = split == "train"
            splits[split].extend(conversations_of(row, args.repeat and training,
                                                  args.close_rewrites if training else None))
            if args.repeat and split == "validation":
                splits["validation_repeat"].append(repeat_of(row))
    os.makedirs(args.out, exist_ok=True)
    lines = []
    for split, items in splits.items():
        path = os.path.join(args.out, f"{split}.jsonl")
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            for item in items:
                f.write(json.dumps(item, ensure_ascii=False) + "\n")
        tasks = collections.Counter(item["task"] for item in items)
        lines.append(f"| {split} | {len(items):,} | " +
                     " | ".join(f"{tasks[t]:,}" for t in PROMPTS) + " |")
        print(f"{path}: {len(items):,} conversations")
    with open(os.path.join(args.out, "SOURCES.md"), "w", encoding="utf-8") as f:
        f.write("# Chapter 13's conversations\n\nMade by scripts/make_instructions.py from "
                f"{source} (scripts/prepare_bible.py).\n\n"
                "| split | conversations | " + " | ".join(PROMPTS) + " |\n"
                "| --- | ---: |" + " ---: |" * len(PROMPTS) + "\n"
                + "\n".join(lines) +
                f"\n\nVerses left out (KJV + WEB over {MAX_PAIR_CHARACTERS} characters): "
                f"{left_out['too long']:,}.\n")


if __name__ == "__main__":
    main()
