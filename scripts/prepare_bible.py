#!/usr/bin/env python3
"""Chapter 11's training text: two public-domain English Bibles, split into train and validation.

    scripts/setup.sh --train                    # Debian: bible-kjv bible-kjv-text sword-text-web diatheke
    python3 scripts/prepare_bible.py [--out DIR] [--if-stale]   # DIR defaults to build-data/bible

Sources (nothing is downloaded; both come from Debian packages):
  - the King James Bible (1611/1769), printed by `bible -p /usr/lib "Gen1:1-Rev22:21"`
    (packages bible-kjv and bible-kjv-text);
  - the World English Bible (2020 stable text), read from the SWORD module engWEB2015eb with
    `diatheke -b engWEB2015eb -f internal -o f -k "Gen 1:1-Rev 22:21"` (packages sword-text-web
    and diatheke). Only the 66 books the KJV has are kept.

The split, one exact rule: every chapter whose number is a multiple of 10 (Genesis 10, 20, ...,
Psalms 10, ..., 150) is validation, in both translations; every other chapter is train. Nothing in
a validation chapter is ever trained on.

Outputs, in DIR (byte-identical on every run with the same packages):
  train.txt, validation.txt   each chapter as a block: a heading line "Genesis 1", one verse per
                              line (no verse numbers), one blank line. All KJV chapters of the
                              split first, in Bible order, then all WEB chapters.
  verses.tsv                  one row per verse present in both translations:
                              book, chapter, verse, split, KJV text, WEB text
  SOURCES.md                  package versions, commands, the split, counts and licences

Why the WEB is read as OSIS markup and not with diatheke's plain format:
  - the plain format drops footnotes and with them the only space between two words where the
    module has a note between them and no space ("God<note/>created" -> "Godcreated");
  - diatheke repeats the last Psalm title (and, before verses with no text, raw markup of an
    earlier verse) in front of every following verse: stale text, not part of the Bible;
  - the last verse, Revelation 22:21, carries the WEB's glossary.
The markup shows where notes stood, which tags are structure (a poetry line, a paragraph) and
where a chapter ends, so each of these can be handled by rule. The plain format is still read,
to check the result: with all whitespace removed, every verse must equal diatheke's own plain
rendering of it (see verify_against_plain).
"""

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata

KJV_COMMAND = ["bible", "-p", "/usr/lib", "Gen1:1-Rev22:21"]
WEB_MODULE = "engWEB2015eb"
WEB_MARKUP_COMMAND = ["diatheke", "-b", WEB_MODULE, "-f", "internal", "-o", "f", "-k", "Gen 1:1-Rev 22:21"]
WEB_PLAIN_COMMAND = ["diatheke", "-b", WEB_MODULE, "-f", "plain", "-k", "Gen 1:1-Rev 22:21"]
WEB_CONF = "/usr/share/sword/mods.d/engWEB2015eb.conf"
KJV_DATA = "/usr/lib/bible.data"
PACKAGES = ["bible-kjv", "bible-kjv-text", "sword-text-web", "diatheke"]

# The 66 books, as the KJV program names them (the names used in our headings), in Bible order.
BOOKS = [
    "Genesis", "Exodus", "Leviticus", "Numbers", "Deuteronomy", "Joshua", "Judges", "Ruth",
    "1 Samuel", "2 Samuel", "1 Kings", "2 Kings", "1 Chronicles", "2 Chronicles", "Ezra",
    "Nehemiah", "Esther", "Job", "Psalms", "Proverbs", "Ecclesiastes", "Song of Solomon", "Isaiah",
    "Jeremiah", "Lamentations", "Ezekiel", "Daniel", "Hosea", "Joel", "Amos", "Obadiah", "Jonah",
    "Micah", "Nahum", "Habakkuk", "Zephaniah", "Haggai", "Zechariah", "Malachi",
    "Matthew", "Mark", "Luke", "John", "Acts", "Romans", "1 Corinthians", "2 Corinthians",
    "Galatians", "Ephesians", "Philippians", "Colossians", "1 Thessalonians", "2 Thessalonians",
    "1 Timothy", "2 Timothy", "Titus", "Philemon", "Hebrews", "James", "1 Peter", "2 Peter",
    "1 John", "2 John", "3 John", "Jude", "Revelation",
]

# The SWORD module's names where they differ from the KJV program's.
WEB_BOOK_NAMES = {
    "I Samuel": "1 Samuel", "II Samuel": "2 Samuel", "I Kings": "1 Kings", "II Kings": "2 Kings",
    "I Chronicles": "1 Chronicles", "II Chronicles": "2 Chronicles",
    "I Corinthians": "1 Corinthians", "II Corinthians": "2 Corinthians",
    "I Thessalonians": "1 Thessalonians", "II Thessalonians": "2 Thessalonians",
    "I Timothy": "1 Timothy", "II Timothy": "2 Timothy", "I Peter": "1 Peter", "II Peter": "2 Peter",
    "I John": "1 John", "II John": "2 John", "III John": "3 John", "Revelation of John": "Revelation",
}
# The deuterocanonical books of the module (NRSVA versification), which the KJV text lacks: read,
# counted in SOURCES.md, and left out.
WEB_DEUTEROCANON = [
    "Tobit", "Judith", "Esther (Greek)", "Wisdom", "Sirach", "Baruch", "Prayer of Azariah", "Susanna",
    "Bel and the Dragon", "I Maccabees", "II Maccabees", "I Esdras", "Prayer of Manasses",
    "Additional Psalm", "III Maccabees", "II Esdras", "IV Maccabees",
]


class PrepareError(Exception):
    """A problem the user can act on; main() prints it and exits with status 1."""


def split_of(chapter):
    """The split rule: chapter numbers that are multiples of 10 are validation."""
    return "validation" if chapter % 10 == 0 else "train"


# ---------------------------------------------------------------------------------------------
# Running the tools.

def check_tools():
    """Fails with the package to install when a tool or a text is missing."""
    missing = []
    if shutil.which("bible") is None:
        missing.append("bible-kjv (the `bible` program)")
    if not os.path.exists(KJV_DATA):
        missing.append(f"bible-kjv-text ({KJV_DATA})")
    if shutil.which("diatheke") is None:
        missing.append("diatheke (the `diatheke` program)")
    if not os.path.exists(WEB_CONF):
        missing.append(f"sword-text-web ({WEB_CONF})")
    if missing:
        raise PrepareError("missing Debian packages: " + "; ".join(missing) +
                           ".\nInstall them with: scripts/setup.sh --train")


def start(command):
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, LC_ALL="C.UTF-8"))


def finish(process, command):
    out, err = process.communicate()
    if process.returncode != 0:
        raise PrepareError(f"`{' '.join(command)}` failed with status {process.returncode}: "
                           f"{err.decode('utf-8', 'replace').strip()[:500]}")
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PrepareError(f"`{' '.join(command)}` printed invalid UTF-8 at byte {error.start}")


def package_versions():
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Version}\n", *PACKAGES],
                         capture_output=True, text=True)
    versions = dict(line.split("\t") for line in out.stdout.splitlines() if "\t" in line)
    return {package: versions.get(package, "(not found by dpkg-query)") for package in PACKAGES}


# ---------------------------------------------------------------------------------------------
# The KJV: "Genesis 1" headings, "  1 In the beginning ..." verse lines, wrapped at 80 columns.

def parse_kjv(text):
    """{(book, chapter, verse): text} in Bible order, from the output of `bible`."""
    verses = {}
    book_index, chapter, verse_key = -1, 0, None
    verse_line = re.compile(r"^  (\d+) (.*)$")
    for number, line in enumerate(text.split("\n"), start=1):
        # A heading must be the next chapter of this book or chapter 1 of the next book; anything
        # else that looks like one is a wrapped line that happens to end in a number.
        next_in_book = f"{BOOKS[book_index]} {chapter + 1}" if book_index >= 0 else None
        next_book = f"{BOOKS[book_index + 1]} 1" if book_index + 1 < len(BOOKS) else None
        if line in (next_in_book, next_book):
            if line == next_book:
                book_index, chapter = book_index + 1, 1
            else:
                chapter += 1
            verse_key = None
            continue
        match = verse_line.match(line)
        if match and book_index >= 0:
            verse = int(match.group(1))
            expected = 1 if verse_key is None else verse_key[2] + 1
            if verse != expected:
                raise PrepareError(f"KJV output line {number}: verse {verse} of {BOOKS[book_index]} "
                                   f"{chapter}, expected verse {expected}")
            verse_key = (BOOKS[book_index], chapter, verse)
            verses[verse_key] = match.group(2)
        elif line.strip() == "":
            continue
        elif verse_key is not None and not line.startswith(" "):
            verses[verse_key] += " " + line  # a wrapped line
        else:
            raise PrepareError(f"KJV output line {number}: cannot place {line[:80]!r}")
    if book_index != len(BOOKS) - 1:
        raise PrepareError(f"KJV output ends in {BOOKS[book_index]}, not in Revelation")
    return {key: collapse_whitespace(value) for key, value in verses.items()}


def collapse_whitespace(text):
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------
# The WEB: one line per verse of the module's versification (NRSVA), OSIS markup, e.g.
#
#   <title type="psalm">A Psalm by David.</title> <lg sID="x"/> <l sID="y"/>Psalms 3:1: Yahweh, ...
#   Genesis 1:1: <w savlm="strong:H0430">In</w> ... <w>God</w><note placement="foot"></note><w>created</w>
#
# Everything before "Book C:V: " is pre-verse text: a Psalm's title before verse 1, and before
# every later verse a stale copy of it (diatheke does not clear it). Psalm titles are not verse
# text (the KJV text has none), so they are dropped.

# "Genesis 1:1: ": a book name, chapter:verse, a colon.
VERSE_NUMBERS = re.compile(r"(\d+):(\d+): ?")
BOOK_AT_END = re.compile(r"(?:" + "|".join(map(re.escape, sorted(
    set(WEB_BOOK_NAMES) | set(BOOKS) | set(WEB_DEUTEROCANON), key=len, reverse=True))) + r") \Z")


def split_web_lines(text, source):
    """[(module book name, chapter, verse, text before the reference, content)] of diatheke output."""
    entries = []
    for number, line in enumerate(text.split("\n"), start=1):
        numbers = VERSE_NUMBERS.search(line)
        book = BOOK_AT_END.search(line, 0, numbers.start()) if numbers else None
        if book:
            entries.append([book.group(0)[:-1], int(numbers[1]), int(numbers[2]),
                            line[:book.start()], [line[numbers.end():]]])
        elif line == f"({WEB_MODULE})" or (not entries and line == ""):
            continue
        elif entries:
            entries[-1][4].append(line)  # a continuation line (only the plain format has them)
        else:
            raise PrepareError(f"{source} line {number}: no verse reference in {line[:80]!r}")
    order = []
    for book, chapter, verse, _, _ in entries:
        if not order or order[-1][0] != book:
            if (chapter, verse) != (1, 1):
                raise PrepareError(f"{source}: {book} starts at {chapter}:{verse}, not at 1:1")
            order.append((book, chapter, verse))
        elif (chapter, verse) not in ((order[-1][1], order[-1][2] + 1), (order[-1][1] + 1, 1)):
            raise PrepareError(f"{source}: {book} {chapter}:{verse} follows {book} "
                               f"{order[-1][1]}:{order[-1][2]}")
        order[-1] = (book, chapter, verse)
    return [(book, chapter, verse, before, "\n".join(content))
            for book, chapter, verse, before, content in entries]


# Tags that only mark words or spans (Strong's numbers, a book title, a glossary keyword): removed,
# their text kept.
INLINE_TAGS = {"w", "name", "seg"}
# Tags that mark structure (a poetry line, a line group, a paragraph, a list item, a line break):
# a word boundary, whatever the characters around them.
STRUCTURE_TAGS = {"l", "lg", "lb", "div", "list", "item", "milestone", "chapter"}
# Footnotes and the quotation tags (<q>, the words of Jesus) are soft boundaries: the module often
# has no space where one stands, "God<note/>created", "righteousness.”</q>Then", so the tag was
# the separator; but it also stands before punctuation, "Adam.<note/>”", "gerahs<note/>);".
SOFT_TAGS = {"note", "q"}
SOFT = "\x00"
OPENING = "“‘([{"
CLOSING = ".,;:?!)]}’”"


def tag_pattern(names):
    return re.compile(r"</?(?:" + "|".join(sorted(names)) + r")\b[^>]*>")


INLINE_PATTERN = tag_pattern(INLINE_TAGS)
STRUCTURE_PATTERN = tag_pattern(STRUCTURE_TAGS)
SOFT_PATTERN = tag_pattern(SOFT_TAGS)
NOTE_PATTERN = re.compile(r"<note\b[^>]*>.*?</note>|<note\b[^>]*/>")


def strip_tags(content, where=None):
    """Text of OSIS content: inline tags removed, structure tags a space, soft tags SOFT.

    With `where` (a verse reference), a tag of any other kind is an error: a new module version
    with new markup must be looked at, not silently flattened."""
    text = NOTE_PATTERN.sub(SOFT, content)
    text = INLINE_PATTERN.sub("", text)
    text = STRUCTURE_PATTERN.sub(" ", text)
    text = SOFT_PATTERN.sub(SOFT, text)
    if where is None:
        return re.sub(r"<[^>]*>", "", text)
    if re.search(r"[<>&]", text):
        left = re.search(r"<[^>]*>?|[>&]", text).group(0)
        raise PrepareError(f"WEB {where}: unexpected markup {left[:80]!r}")
    return text


def resolve_soft_boundaries(text, where, report):
    """Each run of soft tags, with the whitespace around it, becomes one space or nothing.

    Nothing when the next character closes something (punctuation, a closing quote or bracket) or
    the previous one opens something, or at either end of the verse; one space otherwise."""
    def context(match):  # "conceived, | and" for the report
        return (text[max(0, match.start() - 20):match.start()].replace(SOFT, "") + " | " +
                text[match.end():match.end() + 20].replace(SOFT, ""))

    def replace(match):
        left = text[match.start() - 1] if match.start() > 0 else ""
        right = text[match.end()] if match.end() < len(text) else ""
        if not left or not right:
            return ""
        if right in CLOSING or left in OPENING:
            if match.group(0).strip(SOFT):  # the module has a space there: "coins</q> <q>? Not"
                report["spaces taken out before punctuation at a footnote or quotation tag"].append(
                    (where, context(match)))
            return ""
        if not match.group(0).strip(SOFT):  # no whitespace there: the tag was the only separator
            report["spaces put where a footnote or quotation tag stood"].append((where, context(match)))
        return " "

    return re.sub(r"\s*(?:\x00\s*)+", replace, text)


# Glue with no tag to explain it: punctuation followed by a letter with no space. English text
# never has it (the WEB writes no abbreviations like "e.g."), so it is repaired and listed.
GLUE = re.compile(r"(?<=[,;:?!])(?=[A-Za-z])")


def markup_to_text(content, where, report):
    """The verse text of one verse's OSIS content."""
    # The end of a chapter ends the verse: what follows is the module's back matter (after
    # Revelation 22:21, the WEB's glossary).
    end = content.find("<chapter eID=")
    if end >= 0:
        after = collapse_whitespace(strip_tags(content[end:]).replace(SOFT, " "))
        if after:
            report["text after the end of a chapter (left out)"].append(
                (where, f"{len(after.encode())} bytes: {after[:70]}..."))
        content = content[:end]
    # Speaker labels in the Song of Solomon ("Beloved", "Friends") are headings, not verse text.
    for speaker in re.findall(r"<speaker>(.*?)</speaker>", content):
        report["speaker labels (left out)"].append((where, collapse_whitespace(strip_tags(speaker))))
    content = re.sub(r"<speaker>.*?</speaker>", " ", content)
    text = resolve_soft_boundaries(strip_tags(content, where), where, report)
    for match in GLUE.finditer(text):
        report["punctuation glued to the next word (space put)"].append(
            (where, text[max(0, match.start() - 20):match.start() + 20]))
    text = GLUE.sub(" ", text)
    return collapse_whitespace(text)


def parse_web(markup_text, report):
    """{(book, chapter, verse): text} for the 66 books, in Bible order; empty verses left out."""
    verses = {}
    deuterocanon = collections.Counter()
    for book, chapter, verse, _, content in split_web_lines(markup_text, "WEB markup output"):
        if book in WEB_DEUTEROCANON:
            deuterocanon[book] += 1
            continue
        name = WEB_BOOK_NAMES.get(book, book)
        if name not in BOOKS:
            raise PrepareError(f"WEB: unknown book {book!r}")
        where = f"{name} {chapter}:{verse}"
        text = markup_to_text(content, where, report)
        if text:
            verses[(name, chapter, verse)] = text
        else:
            report["verse numbers with no text in the WEB module"].append((where, ""))
    books = list(dict.fromkeys(book for book, _, _ in verses))
    if books != BOOKS:
        raise PrepareError("WEB: the books are not the KJV's 66 in order: missing "
                           f"{[b for b in BOOKS if b not in books]}, order {books}")
    report["deuterocanon"] = [(book, deuterocanon[book]) for book in WEB_DEUTEROCANON]
    return verses


def squeeze(text):
    """The text without any whitespace (and without soft-boundary marks)."""
    return "".join(text.replace(SOFT, "").split())


def verify_against_plain(verses, markup_text, plain_text):
    """Checks every verse, whitespace removed, against diatheke's own plain rendering.

    Our text only adds or removes whitespace and leaves out three known things, so with all
    whitespace removed diatheke's plain text of verse k must be exactly: our verse k, then any
    speaker labels (we drop them; they sit inside the verse, so they are removed from diatheke's
    text before comparing), then the back matter after a chapter's end (the glossary), then the
    pre-verse text of verse k+1 (a Psalm title, stale or not, which the plain format prints on
    lines of its own before the next reference). Returns the number of verses checked."""
    markup = split_web_lines(markup_text, "WEB markup output")
    plain = split_web_lines(plain_text, "WEB plain output")
    if [entry[:3] for entry in markup] != [entry[:3] for entry in plain]:
        raise PrepareError("WEB: the plain and the markup output list different verses")
    checked = 0
    for index, (book, chapter, verse, _, content) in enumerate(markup):
        name = WEB_BOOK_NAMES.get(book, book)
        if name not in BOOKS:
            continue
        theirs = squeeze(plain[index][4])
        for speaker in re.findall(r"<speaker>(.*?)</speaker>", content):
            theirs = theirs.replace(squeeze(strip_tags(speaker)), "", 1)
        end = content.find("<chapter eID=")
        back_matter = squeeze(strip_tags(content[end:])) if end >= 0 else ""
        following = ""
        # Where diatheke prints the next verse's pre-verse text on the reference line itself (as
        # raw markup, before verses with no text), it is not in this verse's lines.
        if index + 1 < len(markup) and not plain[index + 1][3].strip():
            following = squeeze(strip_tags(markup[index + 1][3]))
        ours = squeeze(verses.get((name, chapter, verse), ""))
        if theirs != ours + back_matter + following:
            raise PrepareError(f"WEB {name} {chapter}:{verse}: our text differs from diatheke's "
                               f"plain rendering (whitespace removed):\n  ours:  {ours[:300]}\n"
                               f"  plain: {theirs[:300]}")
        checked += 1
    return checked


# ---------------------------------------------------------------------------------------------
# The outputs.

def chapter_blocks(verses):
    """{(book, chapter): block text} in Bible order: heading, one verse per line, a blank line."""
    blocks = {}
    for (book, chapter, _), text in verses.items():
        key = (book, chapter)
        blocks[key] = blocks.get(key, f"{book} {chapter}\n") + text + "\n"
    return {key: block + "\n" for key, block in blocks.items()}


def split_texts(translations):
    """{"train": text, "validation": text} and the counts behind SOURCES.md's table."""
    parts = {"train": [], "validation": []}
    counts = {}
    for name, verses in translations:
        for split in parts:
            counts[(name, split)] = {"chapters": 0, "verses": 0, "bytes": 0}
        for (book, chapter), block in chapter_blocks(verses).items():
            split = split_of(chapter)
            parts[split].append(block)
            counts[(name, split)]["chapters"] += 1
            counts[(name, split)]["bytes"] += len(block.encode("utf-8"))
        for (_, chapter, _) in verses:
            counts[(name, split_of(chapter))]["verses"] += 1
    return {split: "".join(blocks) for split, blocks in parts.items()}, counts


def verses_tsv(kjv, web):
    rows = ["book\tchapter\tverse\tsplit\tkjv\tweb\n"]
    for (book, chapter, verse), text in kjv.items():
        if (book, chapter, verse) in web:
            rows.append(f"{book}\t{chapter}\t{verse}\t{split_of(chapter)}\t{text}\t"
                        f"{web[(book, chapter, verse)]}\n")
    return "".join(rows)


def compare_translations(kjv, web):
    """Two checks of the verse pairing, for SOURCES.md.

    Returns the pairs whose lengths differ more than twice over (and one is over 60 bytes), and the
    pairs whose KJV verse shares at least 0.25 more of its words (Jaccard index of the words of
    three letters or more, common function words left out) with the WEB's previous or next verse
    than with the WEB's own: a sign of verses numbered differently, which would move text across
    the split if it happened at a chapter boundary."""
    common = set("the and of to that in he shall unto for his they be is him not them it with all "
                 "thou was thy which me said but ye thee their have from as are when this will you "
                 "your were there by out up on so then also had her at who has do an or what if did".split())

    def words(text):
        return {word for word in re.findall(r"[a-z]+", text.lower()) if len(word) > 2 and word not in common}

    def overlap(a, b):
        return len(a & b) / max(1, len(a | b))

    lengths, neighbours = [], []
    for (book, chapter, verse), text in kjv.items():
        if (book, chapter, verse) not in web:
            continue
        other = web[(book, chapter, verse)]
        k, w = len(text.encode("utf-8")), len(other.encode("utf-8"))
        if max(k, w) > 2 * min(k, w) and max(k, w) > 60:
            lengths.append(((book, chapter, verse), k, w))
        own = overlap(words(text), words(other))
        for step in (-1, 1):
            neighbour = web.get((book, chapter, verse + step))
            if neighbour is not None and overlap(words(text), words(neighbour)) > own + 0.25:
                neighbours.append(((book, chapter, verse), step))
    return lengths, neighbours


def read_text(path):
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except OSError as error:
        return f"(could not read {path}: {error.strerror})"


def conf_field(conf, field):
    match = re.search(rf"^{field}=(.*)$", conf, re.MULTILINE)
    return match.group(1).strip() if match else "(not in the file)"


def quote(text):
    return "\n".join("> " + line if line.strip() else ">" for line in text.strip().split("\n"))


def sources_markdown(versions, counts, report, kjv, web, checked):
    kjv_copyright = read_text("/usr/share/doc/bible-kjv-text/copyright")
    kjv_paragraph = next((p for p in kjv_copyright.split("\n\n") if "King James" in p), kjv_copyright)
    web_copyright = read_text("/usr/share/doc/sword-text-web/copyright")
    web_paragraph = next((p for p in web_copyright.split("\n\n") if "License: public-domain" in p),
                         web_copyright)
    web_paragraph = "\n".join(line[1:] if line.startswith(" ") else line for line in web_paragraph.split("\n"))
    conf = read_text(WEB_CONF)
    missing_in_web = [f"{b} {c}:{v}" for (b, c, v) in kjv if (b, c, v) not in web]
    missing_in_kjv = [f"{b} {c}:{v}" for (b, c, v) in web if (b, c, v) not in kjv]
    lines = []
    add = lines.append
    add("# The Bible text of chapter 11: sources, split, licences\n")
    add("Generated by `scripts/prepare_bible.py`; do not edit. Nothing here was downloaded: both "
        "texts come from Debian packages.\n")
    add("## Packages\n")
    add("| package | version | what |\n| --- | --- | --- |")
    what = {"bible-kjv": "the `bible` program", "bible-kjv-text": "the King James text it reads",
            "sword-text-web": f"the SWORD module {WEB_MODULE} (World English Bible)",
            "diatheke": "the SWORD command-line reader"}
    for package, version in versions.items():
        add(f"| {package} | {version} | {what[package]} |")
    add("\n## Commands\n")
    add("```")
    add(" ".join(KJV_COMMAND[:3]) + ' "' + KJV_COMMAND[3] + '"')
    add(" ".join(WEB_MARKUP_COMMAND[:-1]) + ' "' + WEB_MARKUP_COMMAND[-1] + '"')
    add(" ".join(WEB_PLAIN_COMMAND[:-1]) + ' "' + WEB_PLAIN_COMMAND[-1] + '"    # only to check the text')
    add("```\n")
    add("## The split\n")
    add("Every chapter whose number is a multiple of 10 (Genesis 10, 20, ..., Psalms 10, ..., 150) "
        "is **validation**, in both translations; every other chapter is **train**. Nothing in a "
        "validation chapter is trained on. `train.txt` and `validation.txt` hold each chapter as a "
        "heading line (`Genesis 1`), one verse per line without its number, and a blank line; "
        "the KJV's chapters first, in Bible order, then the WEB's. `verses.tsv` pairs the two "
        "translations verse by verse (only verses present in both).\n")
    add("| translation | split | chapters | verses | bytes (UTF-8) |\n| --- | --- | ---: | ---: | ---: |")
    for (name, split), count in counts.items():
        add(f"| {name} | {split} | {count['chapters']:,} | {count['verses']:,} | {count['bytes']:,} |")
    add("")
    add("## How the text was read\n")
    add("**KJV.** The program prints a heading per chapter and each verse wrapped at 80 columns; "
        "the wrapped lines are joined with a space. Every book, chapter and verse is checked to "
        "come in order (66 books, verse numbers counting up from 1).\n")
    add(f"**WEB.** The module {WEB_MODULE} is read as OSIS markup, one verse per line (versification "
        "NRSVA). Tags that mark words (Strong's numbers) are removed; tags that mark structure "
        "(poetry lines, paragraphs, list items) are a space; footnotes and quotation tags are a space "
        "between two words, and nothing before closing punctuation or after opening punctuation "
        "(the module often has no space where a note stood: `God<note/>created`). Any other tag "
        "stops the script. Whitespace is collapsed to single spaces.\n")
    add(f"Checked: all {checked:,} verse numbers of the 66 books equal diatheke's own plain "
        "rendering once all whitespace is removed, so the repairs touch whitespace only, apart "
        "from what is listed as left out below.\n")
    for what_kind, items in report.items():
        if what_kind == "deuterocanon":
            continue
        add(f"- {what_kind}: {len(items)}")
        shown = items if len(items) <= 12 else items[:8]
        for where, detail in shown:
            add(f"  - {where}" + (f": `{detail}`" if detail else ""))
        if len(shown) < len(items):
            add(f"  - ... and {len(items) - len(shown)} more")
    add("- Psalm titles (\"A Psalm by David.\") are left out: diatheke prints them before the verse "
        "reference, repeated before every later verse of the Psalm, and the KJV text has none.")
    total = sum(count for _, count in report["deuterocanon"])
    add(f"- the module's deuterocanonical books are left out (the KJV text has none): {total:,} "
        "verses in " + ", ".join(f"{book} ({count})" for book, count in report["deuterocanon"]) + ".\n")
    add("## The two translations side by side\n")
    kjv_chapters = sorted({(b, c) for b, c, _ in kjv}, key=lambda key: (BOOKS.index(key[0]), key[1]))
    web_chapters = sorted({(b, c) for b, c, _ in web}, key=lambda key: (BOOKS.index(key[0]), key[1]))
    chapters = (f"both have the same {len(kjv_chapters):,} chapters" if kjv_chapters == web_chapters
                else "the chapters differ: KJV only " +
                ", ".join(f"{b} {c}" for b, c in kjv_chapters if (b, c) not in web_chapters) +
                "; WEB only " + ", ".join(f"{b} {c}" for b, c in web_chapters if (b, c) not in kjv_chapters))
    add(f"KJV: {len(kjv):,} verses; WEB: {len(web):,} verses with text; {chapters}. The verse "
        "numbers are the same except:\n")
    add(f"- in the KJV, not in the WEB (the WEB leaves the verse out, or moves its text): "
        f"{', '.join(missing_in_web) or 'none'}")
    add(f"- in the WEB, not in the KJV: {', '.join(missing_in_kjv) or 'none'}")
    lengths, neighbours = compare_translations(kjv, web)
    add("- pairs whose lengths differ more than twice over (a verse one translation's source "
        "text has and the other's lacks, in part): " +
        ", ".join(f"{b} {c}:{v} ({k:,} and {w:,} bytes)" for (b, c, v), k, w in lengths))
    add("- pairs whose KJV verse shares clearly more words with the WEB's neighbouring verse than "
        "with its own (verses in another order): " +
        (", ".join(f"{b} {c}:{v} (best with {v + d})" for (b, c, v), d in neighbours) or "none"))
    add("")
    add("## Licences\n")
    add("**King James Version.** `/usr/share/doc/bible-kjv-text/copyright` says:\n")
    add(quote(kjv_paragraph) + "\n")
    add("The text is in the public domain in most of the world. In the United Kingdom the rights "
        "in the King James Version are held by the Crown under letters patent, which restrict "
        "printing it there; the package's copyright file does not mention this.\n")
    add("**World English Bible.** `/usr/share/doc/sword-text-web/copyright` says:\n")
    add(quote(web_paragraph) + "\n")
    add(f"The module's configuration (`{WEB_CONF}`) says `Copyright={conf_field(conf, 'Copyright')}`, "
        f"`DistributionLicense={conf_field(conf, 'DistributionLicense')}`, and:\n")
    add(quote(conf_field(conf, "CopyrightNotes")) + "\n")
    add("The WEB asks that a changed text not be called the World English Bible. The text here has "
        "its spacing repaired and its Psalm titles, speaker labels and glossary left out, so it is "
        "a text derived from the World English Bible.")
    return "\n".join(lines) + "\n"


def write_outputs(out_dir, files):
    """Writes every file under a temporary name first, then renames them all: a failure leaves the
    old outputs, never a half-written one."""
    os.makedirs(out_dir, exist_ok=True)
    umask = os.umask(0)
    os.umask(umask)
    temporary = {}
    try:
        for name, text in files.items():
            handle, path = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out_dir)
            temporary[name] = path
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as file:
                file.write(text)
            os.chmod(path, 0o666 & ~umask)  # mkstemp makes the file private
        for name, path in temporary.items():
            os.replace(path, os.path.join(out_dir, name))
    except BaseException:
        for path in temporary.values():
            if os.path.exists(path):
                os.remove(path)
        raise


OUTPUT_NAMES = ["train.txt", "validation.txt", "verses.tsv", "SOURCES.md"]


def outputs_are_fresh(out_dir):
    script_time = os.path.getmtime(os.path.abspath(__file__))
    paths = [os.path.join(out_dir, name) for name in OUTPUT_NAMES]
    return all(os.path.exists(path) and os.path.getmtime(path) > script_time for path in paths)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--out", default=os.path.join(here, "build-data", "bible"),
                        help="output directory (default: build-data/bible in the checkout)")
    parser.add_argument("--if-stale", action="store_true",
                        help="do nothing if every output exists and is newer than this script")
    arguments = parser.parse_args(argv)
    if arguments.if_stale and outputs_are_fresh(arguments.out):
        print(f"prepare_bible: {arguments.out} is up to date")
        return 0
    try:
        check_tools()
        # The three reads are independent; diatheke takes about 20 s each, so they run at once.
        processes = [(start(command), command)
                     for command in (KJV_COMMAND, WEB_MARKUP_COMMAND, WEB_PLAIN_COMMAND)]
        try:
            kjv_text, markup_text, plain_text = [finish(process, command) for process, command in processes]
        finally:
            for process, _ in processes:
                if process.poll() is None:  # another read failed first
                    process.kill()
                    process.wait()
        kjv = parse_kjv(kjv_text)
        report = collections.defaultdict(list)
        web = parse_web(markup_text, report)
        checked = verify_against_plain(web, markup_text, plain_text)
        texts, counts = split_texts([("KJV", kjv), ("WEB", web)])
        files = {  # in the order of OUTPUT_NAMES
            "train.txt": texts["train"],
            "validation.txt": texts["validation"],
            "verses.tsv": verses_tsv(kjv, web),
            "SOURCES.md": sources_markdown(package_versions(), counts, report, kjv, web, checked),
        }
        write_outputs(arguments.out, files)
    except PrepareError as error:
        print(f"prepare_bible: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"prepare_bible: {error}", file=sys.stderr)
        return 1
    for name, text in files.items():
        print(f"{os.path.join(arguments.out, name)}: {len(text.encode('utf-8')):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
