#!/usr/bin/env python3
"""A multiple-choice cloze test from the Bible's validation split: which word ends the verse?

    python3 scripts/make_bible_cloze.py            # writes golden/eval/bible-cloze.jsonl

Reads build-data/bible/validation.txt (scripts/prepare_bible.py; chapters no model here was
trained on) and writes 200 questions, 100 from each translation, one JSON object per line:

    {"context": "Genesis 10\\n<the verse before>\\n<the verse without its last word>",
     "choices": [" earth", " river", " king", " house"], "answer": 0, "source": "KJV Genesis 10:3"}

The right choice is the verse's last word (without its punctuation); the three others are words
that end other verses of the same translation at least 5 times, so each is a plausible last word
on its own and only the verse's meaning tells them apart. Chance is 1 in 4. Deterministic: the
same text gives the same file. Only the standard library.
"""
import argparse
import collections
import json
import os
import random
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADING = re.compile(r"^(?:[1-3] )?[A-Z][A-Za-z ]+ \d+$")
LAST_WORD = re.compile(r"^(.*\S)\s+([A-Za-z]{3,})([^A-Za-z0-9]*)$")
QUESTIONS_PER_TRANSLATION = 100


def chapters(path):
    """[(translation, heading, [verses])] in file order; the KJV comes first, then the WEB."""
    out, translation, seen = [], "KJV", set()
    with open(path, encoding="utf-8") as f:
        blocks = f.read().split("\n\n")
    for block in blocks:
        lines = [line for line in block.split("\n") if line]
        if not lines or not HEADING.match(lines[0]):
            continue
        if lines[0] in seen:  # the second translation starts again at Genesis 10
            translation = "WEB"
            seen = set()
        seen.add(lines[0])
        out.append((translation, lines[0], lines[1:]))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--validation", default=os.path.join(ROOT, "build-data", "bible", "validation.txt"))
    parser.add_argument("--out", default=os.path.join(ROOT, "golden", "eval", "bible-cloze.jsonl"))
    args = parser.parse_args()

    all_chapters = chapters(args.validation)
    questions = []
    for translation in ("KJV", "WEB"):
        candidates, endings = [], collections.Counter()
        for tr, heading, verses in all_chapters:
            if tr != translation:
                continue
            for number, verse in enumerate(verses):
                match = LAST_WORD.match(verse)
                if not match:
                    continue
                endings[match.group(2).lower()] += 1
                if number > 0:
                    candidates.append((heading, verses[number - 1], match.group(1), match.group(2), number + 1))
        pool = sorted(word for word, count in endings.items() if count >= 5)
        rng = random.Random(f"bible-cloze {translation}")
        for heading, before, start, word, verse_number in rng.sample(candidates, QUESTIONS_PER_TRANSLATION):
            others = [w for w in pool if w != word.lower()]
            wrong = rng.sample(others, 3)
            choices = [" " + word] + [" " + (w.capitalize() if word[0].isupper() else w) for w in wrong]
            order = list(range(4))
            rng.shuffle(order)
            questions.append({
                "context": f"{heading}\n{before}\n{start}",
                "choices": [choices[i] for i in order],
                "answer": order.index(0),
                "source": f"{translation} {heading}:{verse_number}",
            })

    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        for question in questions:
            f.write(json.dumps(question, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"wrote {len(questions)} questions to {args.out}")


if __name__ == "__main__":
    main()
