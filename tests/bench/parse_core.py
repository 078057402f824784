#!/usr/bin/python3
"""parse_core.py -- reads the output of build/host/bin/bench_core_ingest on stdin and
prints raw samples for run.sh: "core.mb_per_s<TAB>X" and "core.msgs_per_s<TAB>Y".

bench_core_ingest is written by another engineer; this accepts the shapes a small C
benchmark is likely to print, so that its exact wording does not matter:
  - a JSON object (one line) with keys like mb_per_s / MBps and msgs_per_s / msg_per_s;
  - "key value" or "key=value" lines with such keys (e.g. core_ingest_mb_per_s 812.5);
  - prose with units: "812.5 MB/s", "1234567 msg/s" (or messages/s, msgs/s).
When a figure appears several times the last one counts. Exit 1 if neither is found.
"""
import json
import re
import sys

NUM = r'([0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?)'
MB_KEY = re.compile(r'(mb|mib)(_|/|ps|_per_)s?$|mb_per_s|mbps|mb/s|mib/s', re.I)
MSG_KEY = re.compile(r'(msgs?|messages?|updates?)(_per_s|/s|_s|ps)$|msgs?_per_s|messages_per_s', re.I)


def from_pairs(pairs):
    mb = msgs = None
    for k, v in pairs:
        try:
            x = float(v)
        except (TypeError, ValueError):
            continue
        kk = k.strip().lower()
        if MB_KEY.search(kk):
            mb = x
        elif MSG_KEY.search(kk):
            msgs = x
    return mb, msgs


def parse(text):
    mb = msgs = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith('{'):
            try:
                obj = json.loads(line)
                a, b = from_pairs(obj.items())
                mb, msgs = a if a is not None else mb, b if b is not None else msgs
                continue
            except ValueError:
                pass
        m = re.fullmatch(r'([A-Za-z_][\w./]*)\s*[=:]?\s*' + NUM + r'\s*\S*', line)
        if m:
            a, b = from_pairs([(m.group(1), m.group(2))])
            if a is not None or b is not None:
                mb, msgs = a if a is not None else mb, b if b is not None else msgs
                continue
        for x in re.findall(NUM + r'\s*MB/s', line, re.I):
            mb = float(x)
        for x in re.findall(NUM + r'\s*(?:msgs?|messages|updates)/s', line, re.I):
            msgs = float(x)
    return mb, msgs


def main():
    mb, msgs = parse(sys.stdin.read())
    if mb is None and msgs is None:
        return 1
    if mb is not None:
        print(f'core.mb_per_s\t{mb}')
    if msgs is not None:
        print(f'core.msgs_per_s\t{msgs}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
