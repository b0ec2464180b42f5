#!/usr/bin/env python3
"""Keeps the code quoted in the chapters' READMEs identical to the code that runs.

A README quotes a piece of source between two comment lines:

    <!-- excerpt common/layers/rms_norm.cpp inverse_rms -->
    ```cpp
    ...the lines, exactly as in the source, less their common indentation...
    ```
    <!-- end excerpt -->

and the source marks the same piece with two comments of its own:

    // [excerpt inverse_rms]
    float inverse_rms(const float* v, std::int64_t n, float eps) {
      ...
    }
    // [end excerpt]

Inside an excerpt, the lines from `// [excerpt pause]` to `// [excerpt resume]` are left out of
the quote and stand as one `// ...` line (for code that a reader can skip, such as recording
activations). Marker lines of other excerpts inside one are left out too.

    python3 scripts/check_excerpts.py            check every Markdown file; exit 1 naming each
                                                 README and excerpt that differ from the source
    python3 scripts/check_excerpts.py --fix      rewrite the READMEs' quotes from the source
    python3 scripts/check_excerpts.py --self-test
                                                 on a temporary copy, change one line of each
                                                 excerpt's source and check that the check fails
                                                 and that --fix repairs it

Only the Python 3 standard library is used; ctest runs the check and the self-test (label docs).
"""

import argparse
import difflib
import os
import re
import shutil
import sys
import tempfile

README_START = re.compile(r"^<!-- excerpt (?P<path>\S+) (?P<name>[A-Za-z0-9_.-]+) -->\s*$")
README_END = re.compile(r"^<!-- end excerpt -->\s*$")
FENCE = re.compile(r"^```")
SOURCE_START = re.compile(r"^\s*(//|#) \[excerpt (?P<name>[A-Za-z0-9_.-]+)\]\s*$")
SOURCE_END = re.compile(r"^\s*(//|#) \[end excerpt\]\s*$")
SOURCE_PAUSE = re.compile(r"^(?P<indent>\s*)(//|#) \[excerpt pause\]\s*$")
SOURCE_RESUME = re.compile(r"^\s*(//|#) \[excerpt resume\]\s*$")
SKIPPED_DIRECTORIES = {".git", "node_modules"}


class ExcerptError(Exception):
    pass


def markdown_files(root):
    """Every .md file under root, outside build folders and hidden folders."""
    found = []
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = sorted(
            d for d in subdirectories
            if d not in SKIPPED_DIRECTORIES and not d.startswith(".") and not d.startswith("build"))
        found += [os.path.join(directory, f) for f in sorted(files) if f.endswith(".md")]
    return found


def dedent(lines):
    """The lines less their common leading whitespace. Blank lines do not count, nor do
    preprocessor lines (`#pragma ...`), which clang-format puts in column 0 and which stay there."""
    def is_directive(line):
        return line.startswith("#")
    indents = [len(line) - len(line.lstrip(" ")) for line in lines
               if line.strip() and not is_directive(line)]
    cut = min(indents) if indents else 0
    return [("" if not line.strip() else line if is_directive(line) else line[cut:])
            for line in lines]


def source_excerpts(path):
    """{name: [lines]} of every excerpt marked in one source file, as a README quotes it."""
    with open(path, encoding="utf-8") as file:
        lines = file.read().split("\n")
    excerpts, open_excerpts = {}, {}  # name -> first line number (1-based)
    for number, line in enumerate(lines, 1):
        start, end = SOURCE_START.match(line), SOURCE_END.match(line)
        if start:
            name = start.group("name")
            if name in ("pause", "resume"):
                continue
            if name in excerpts or name in open_excerpts:
                raise ExcerptError(f"{path}:{number}: excerpt '{name}' is marked twice")
            open_excerpts[name] = number
        elif end:
            if not open_excerpts:
                raise ExcerptError(f"{path}:{number}: '[end excerpt]' without an open excerpt")
            # Excerpts may nest; an end marker closes the innermost (the last opened).
            name = list(open_excerpts)[-1]
            first = open_excerpts.pop(name)
            excerpts[name] = quote(lines[first:number - 1], path, first)
    if open_excerpts:
        name, number = next(iter(open_excerpts.items()))
        raise ExcerptError(f"{path}:{number}: excerpt '{name}' has no '[end excerpt]'")
    return excerpts


def quote(lines, path, first_line):
    """The marked lines as a README shows them: pauses elided, other markers dropped, dedented."""
    shown, paused_at = [], None
    for offset, line in enumerate(lines):
        pause = SOURCE_PAUSE.match(line)
        if pause:
            if paused_at is not None:
                raise ExcerptError(f"{path}:{first_line + offset + 1}: '[excerpt pause]' twice")
            paused_at = offset
            shown.append(pause.group("indent") + "// ...")
        elif SOURCE_RESUME.match(line):
            if paused_at is None:
                raise ExcerptError(f"{path}:{first_line + offset + 1}: '[excerpt resume]' "
                                   "without a pause")
            paused_at = None
        elif paused_at is None and not (SOURCE_START.match(line) or SOURCE_END.match(line)):
            shown.append(line)
    if paused_at is not None:
        raise ExcerptError(f"{path}:{first_line + paused_at + 1}: '[excerpt pause]' without "
                           "'[excerpt resume]'")
    return dedent(lines=shown)


def readme_excerpts(path):
    """[(name, source path, first content line index, end index, lines)] quoted in one README."""
    with open(path, encoding="utf-8") as file:
        lines = file.read().split("\n")
    found, number = [], 0
    while number < len(lines):
        start = README_START.match(lines[number])
        if not start:
            if README_END.match(lines[number]):
                raise ExcerptError(f"{path}:{number + 1}: '<!-- end excerpt -->' without a start")
            number += 1
            continue
        where = f"{path}:{number + 1}"
        if number + 1 >= len(lines) or not FENCE.match(lines[number + 1]):
            raise ExcerptError(f"{where}: the excerpt marker must be followed by a ``` line")
        close = number + 2
        while close < len(lines) and not (lines[close].startswith("```")
                                          and lines[close].strip() == "```"):
            close += 1
        if close + 1 >= len(lines) or not README_END.match(lines[close + 1]):
            raise ExcerptError(f"{where}: the code block must end with ``` and then "
                               "'<!-- end excerpt -->'")
        found.append((start.group("name"), start.group("path"), number + 2, close,
                      lines[number + 2:close]))
        number = close + 2
    return lines, found


def check(root, fix, quiet=False):
    """Checks (or with fix, rewrites) every README quote under root. Returns the problems."""
    problems, cache = [], {}
    used = set()
    for readme in markdown_files(root):
        shown_readme = os.path.relpath(readme, root)
        try:
            lines, quotes = readme_excerpts(readme)
        except ExcerptError as error:
            problems.append(str(error).replace(readme, shown_readme, 1))
            continue
        changed = False
        for name, source, begin, end, quoted in reversed(quotes):
            source_path = os.path.join(root, source)
            if source not in cache:
                try:
                    cache[source] = source_excerpts(source_path) if os.path.isfile(source_path) \
                        else None
                except ExcerptError as error:
                    cache[source] = error
            excerpts = cache[source]
            if excerpts is None:
                problems.append(f"{shown_readme}: excerpt '{name}' quotes {source}, "
                                "which does not exist")
                continue
            if isinstance(excerpts, ExcerptError):
                problem = str(excerpts).replace(root + os.sep, "", 1)
                if problem not in problems:  # once per source file, not once per quote
                    problems.append(problem)
                continue
            if name not in excerpts:
                problems.append(f"{shown_readme}: excerpt '{name}' is not marked in {source} "
                                f"(add '// [excerpt {name}]' ... '// [end excerpt]' there)")
                continue
            used.add((source, name))
            wanted = excerpts[name]
            if quoted == wanted:
                continue
            if fix:
                lines[begin:end] = wanted
                changed = True
                continue
            diff = difflib.unified_diff(quoted, wanted, f"{shown_readme} ({name})",
                                        f"{source} ({name})", lineterm="", n=1)
            problems.append(f"{shown_readme}: excerpt '{name}' differs from {source} "
                            "(run python3 scripts/check_excerpts.py --fix):\n  "
                            + "\n  ".join(diff))
        if changed:
            with open(readme, "w", encoding="utf-8") as file:
                file.write("\n".join(lines))
            if not quiet:
                print(f"rewrote the excerpts of {shown_readme}")
    return problems, used


def self_test(root):
    """For each excerpt the READMEs quote: change one of its source lines in a temporary copy of
    the repository's Markdown files and quoted sources, and demand that the check fails naming the
    README and the excerpt, and that --fix brings the quote back in line."""
    problems, used = check(root, fix=False)
    if problems:
        print("\n".join(problems))
        return 1
    if not used:
        print("self-test: no excerpts found")
        return 1
    failures = 0
    for source, name in sorted(used):
        with tempfile.TemporaryDirectory() as copy:
            for readme in markdown_files(root):
                target = os.path.join(copy, os.path.relpath(readme, root))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copyfile(readme, target)
            for quoted_source, _ in used:
                target = os.path.join(copy, quoted_source)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copyfile(os.path.join(root, quoted_source), target)
            # Change the first non-blank line inside the excerpt (after its start marker).
            path = os.path.join(copy, source)
            with open(path, encoding="utf-8") as file:
                lines = file.read().split("\n")
            start = next(i for i, line in enumerate(lines)
                         if SOURCE_START.match(line) and SOURCE_START.match(line).group("name") == name)
            target = next(i for i in range(start + 1, len(lines))
                          if lines[i].strip() and not SOURCE_START.match(lines[i])
                          and not SOURCE_END.match(lines[i]))
            lines[target] += "  // changed by the self-test"
            with open(path, "w", encoding="utf-8") as file:
                file.write("\n".join(lines))
            found, _ = check(copy, fix=False)
            named = [p for p in found if f"excerpt '{name}' differs from {source}" in p]
            if not named:
                print(f"FAIL: changing {source}:{target + 1} was not reported for excerpt "
                      f"'{name}' (the check said: {found or 'nothing'})")
                failures += 1
                continue
            check(copy, fix=True, quiet=True)
            after, _ = check(copy, fix=False)
            if after:
                print(f"FAIL: --fix did not repair excerpt '{name}': {after}")
                failures += 1
                continue
            print(f"ok: a change to {source} line {target + 1} is caught in excerpt '{name}' "
                  f"({named[0].split(':')[0]}), and --fix repairs it")
    print(f"self-test: {len(used) - failures} of {len(used)} excerpts caught and repaired")
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=os.path.join(os.path.dirname(__file__), ".."),
                        help="the repository's top folder (default: this script's parent)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--fix", action="store_true", help="rewrite the READMEs from the source")
    action.add_argument("--self-test", action="store_true",
                        help="check that a changed source line is caught, on a temporary copy")
    arguments = parser.parse_args()
    root = os.path.realpath(arguments.root)
    if arguments.self_test:
        return self_test(root)
    problems, used = check(root, fix=arguments.fix)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} excerpt problem(s); the READMEs must quote the code as it is")
        return 1
    print(f"{len(used)} excerpts: every README quote equals its source")
    return 0


if __name__ == "__main__":
    sys.exit(main())
