#!/usr/bin/env python3
"""Turns one of alts's Markdown documents into a man page (roff, man macros).

    md2man.py --name alts-suite --section 5 --title "alts suite file format" IN.md OUT.5

The documents stay the one source: docs/suite-format.md gives alts-suite(5) and
docs/checks.md gives alts-checks(5). Handles what those use: # headings, paragraphs,
lists, tables (as tagged paragraphs), fenced code, `code`, **bold**, [links](url).
"""
import argparse
import re
import sys


def inline(text):
    text = text.replace("\\", "\\e")
    text = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", lambda m: link(m.group(1), m.group(2)), text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"\\fB\1\\fR", text)
    text = re.sub(r"`([^`]+)`", lambda m: "\\fB" + breakable(m.group(1)) + "\\fR", text)
    text = text.replace("-", "\\-")
    return text


def breakable(code):
    """Long code (a PATH, a URL) may break after ':' and '/' (groff's \\: break point)."""
    if len(code) <= 30:
        return code
    return re.sub(r"([:/,])", lambda m: m.group(1) + "\\:", code)


def link(label, url):
    pages = {"suite-format.md": "alts-suite(5)", "checks.md": "alts-checks(5)"}
    name = url.split("#")[0].split("/")[-1]
    if name in pages:
        return f"{label} ({pages[name]})"
    if url.startswith("http"):
        return f"{label} <{url}>"
    return f"{label} (/usr/share/doc/alts/{name})" if name.endswith(".md") else label


def line_safe(text):
    """A text line must not start with . or ' (roff requests)."""
    return "\\&" + text if text[:1] in (".", "'") else text


def table_row(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def convert(md, name, section, title):
    out = [f'.TH {name.upper()} {section} "" "alts" "{title}"', ".SH NAME", f"{name} \\- {title}"]
    out.insert(1, ".ad l")  # ragged right: long code and paths do not stretch lines
    lines = md.splitlines()
    i = 0
    para = []

    def flush():
        if para:
            out.append(".PP")
            out.extend(line_safe(inline(p)) for p in para)
            para.clear()

    first_heading = True
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            flush()
            out += [".PP", ".RS 4", ".EX"]
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                out.append(line_safe(lines[i].replace("\\", "\\e").replace("-", "\\-")))
                i += 1
            out += [".EE", ".RE"]
        elif line.startswith("#"):
            flush()
            level = len(line) - len(line.lstrip("#"))
            text = line.lstrip("#").strip()
            if first_heading and level == 1:
                out.append(".SH DESCRIPTION")
            elif level <= 2:
                out.append(f'.SH "{inline(text).upper()}"')
            else:
                out.append(f'.SS "{inline(text)}"')
            first_heading = False
        elif line.startswith("|"):
            flush()
            header = table_row(line)
            i += 2  # the separator line
            while i < len(lines) and lines[i].startswith("|"):
                cells = table_row(lines[i])
                out.append(".TP")
                out.append(line_safe(inline(cells[0])))
                rest = []
                for h, c in zip(header[1:], cells[1:]):
                    if c:
                        rest.append(f"{h}: {c}" if h.lower() not in ("meaning", "what it is") else c)
                out.append(line_safe(inline("; ".join(rest))))
                i += 1
            continue
        elif re.match(r"^\s*[-*] ", line):
            flush()
            item = [re.sub(r"^\s*[-*] ", "", line)]
            while i + 1 < len(lines) and lines[i + 1].startswith("  ") and lines[i + 1].strip():
                i += 1
                item.append(lines[i].strip())
            out += [".IP \\(bu 2", line_safe(inline(" ".join(item)))]
        elif re.match(r"^\d+\. ", line):
            flush()
            num = line.split(".")[0]
            item = [re.sub(r"^\d+\. ", "", line)]
            while i + 1 < len(lines) and lines[i + 1].startswith("   ") and lines[i + 1].strip():
                i += 1
                item.append(lines[i].strip())
            out += [f".IP {num}. 4", line_safe(inline(" ".join(item)))]
        elif not line.strip():
            flush()
        else:
            para.append(line.strip())
        i += 1
    flush()
    out += [".SH SEE ALSO", "\\fBalts-run\\fR(1), \\fBalts-suite\\fR(5), \\fBalts-checks\\fR(5), "
            "\\fBalts-image\\fR(1), \\fBalts-submit\\fR(1)"]
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--section", required=True)
    ap.add_argument("--title", required=True)
    ap.add_argument("input")
    ap.add_argument("output")
    a = ap.parse_args()
    with open(a.input, encoding="utf-8") as f:
        md = f.read()
    with open(a.output, "w", encoding="utf-8") as f:
        f.write(convert(md, a.name, a.section, a.title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
