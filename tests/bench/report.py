#!/usr/bin/python3
"""report.py -- turns the benchmark suite's raw samples into a table and BENCHMARKS.md.

    report.py write RAW META OUT     aggregate RAW, print the table, write OUT (markdown)
    report.py check OUT              parse OUT; print one line per figure ("ok ID median"
                                     or "bad ID why") and exit 1 if the format is broken

RAW holds one sample per line, "ID<TAB>VALUE", one line per run (tests/bench/run.sh
writes it). META holds "key=value" lines: mode, runs, machine facts, sizes, and
"missing.ID=reason" for a figure that could not be measured. Every figure is reported
as the median of its samples with min and max beside it. Ratios are computed per run
by run.sh (ours and theirs measured in the same repetition) and aggregated like any
other figure.

The markdown has one table whose rows are
    | `ID` | description | median | min | max | unit | runs |
and a targets table | target | figure | value | met/missed |. `check` relies on both.
"""
import re
import statistics
import sys

# ID pattern -> (description, unit). Level ids carry a size label (10k, 1M, ...) that
# run.sh derives from the sizes it used; {L} stands for it.
FIGURES = [
    (r'binary\.stripped_bytes', 'stripped static binary (build/iotpro_exporter)', 'bytes'),
    (r'num\.(?P<L>musl|glibc)\.ns_per_value', 'core/num: one GPS coordinate (Java form, 15-17 digits), {L} build', 'ns'),
    (r'num\.(?P<L>musl|glibc)\.libc_ns_per_value', '{L} strtod: the same values', 'ns'),
    (r'num\.(?P<L>musl|glibc)\.speedup', 'core/num / {L} strtod speed, identical results', 'x'),
    (r'num\.diff_inputs', 'differential run: random and adversarial inputs, core/num vs glibc strtod', 'inputs'),
    (r'num\.diff_identical_fraction', 'differential run: share of inputs with bit-identical results', 'fraction'),
    (r'num\.diff_seconds', 'differential run: time taken', 's'),
    (r'(?P<L>gps|mixed)\.ingest\.msgs_per_s', '{L} workload: end to end ingest, exporter on one core', 'msg/s'),
    (r'(?P<L>gps|mixed)\.ingest\.values_per_s', '{L} workload: telemetry values applied', 'values/s'),
    (r'(?P<L>gps|mixed)\.ingest\.cpu_s_per_m_updates', '{L} workload: exporter CPU per million update messages', 'CPU s'),
    (r'(?P<L>gps|mixed)\.ingest\.exporter_cpu_util', '{L} workload: exporter CPU use (1.0 = one core)', 'cores'),
    (r'(?P<L>gps|mixed)\.ingest\.sim_cpu_util', '{L} workload: simulator CPU use (1.0 = one core)', 'cores'),
    (r'(?P<L>gps|mixed)\.ingest\.peak_rss_bytes', '{L} workload: exporter peak RSS (VmHWM)', 'bytes'),
    (r'(?P<L>gps|mixed)\.ref\.msgs_per_s', '{L} workload: Node.js reference client (values kept as strings)', 'msg/s'),
    (r'(?P<L>gps|mixed)\.ref\.values_per_s', '{L} workload: Node.js client, values applied', 'values/s'),
    (r'(?P<L>gps|mixed)\.ref\.cpu_s_per_m_updates', '{L} workload: Node.js client CPU per million update messages', 'CPU s'),
    (r'(?P<L>gps|mixed)\.ref\.peak_rss_bytes', '{L} workload: Node.js client peak RSS (VmHWM)', 'bytes'),
    (r'(?P<L>gps|mixed)\.floor\.msgs_per_s', '{L} workload: decrypt-only floor client (bench_floor)', 'msg/s'),
    (r'(?P<L>gps|mixed)\.floor\.cpu_s_per_m_updates', '{L} workload: floor client CPU per million messages', 'CPU s'),
    (r'(?P<L>gps|mixed)\.ratio\.throughput', '{L} workload: ours / Node.js, update messages per second', 'x'),
    (r'(?P<L>gps|mixed)\.ratio\.peak_rss', '{L} workload: ours / Node.js, peak RSS', 'x'),
    (r'(?P<L>gps|mixed)\.ratio\.cpu_vs_floor', '{L} workload: our CPU per message / the floor\'s', 'x'),
    (r'core\.mb_per_s', 'core-only ingest (ws decode + JSON + store, no sockets)', 'MB/s'),
    (r'core\.msgs_per_s', 'core-only ingest', 'msg/s'),
    (r'ingest\.msgs_per_s', 'end to end ingest, exporter on one core, simulator flooding', 'msg/s'),
    (r'ingest\.values_per_s', 'end to end ingest, telemetry values applied', 'values/s'),
    (r'ingest\.cpu_s_per_m_updates', 'exporter CPU per million update messages', 'CPU s'),
    (r'ingest\.exporter_cpu_util', 'exporter CPU use in the window (1.0 = one core)', 'cores'),
    (r'ingest\.sim_cpu_util', 'simulator CPU use in the window (1.0 = one core)', 'cores'),
    (r'ingest\.peak_rss_bytes', 'exporter peak RSS (VmHWM) in the ingest run', 'bytes'),
    (r'ref\.msgs_per_s', 'Node.js reference client (ws), same feed', 'msg/s'),
    (r'ref\.values_per_s', 'Node.js reference client, values applied', 'values/s'),
    (r'ref\.cpu_s_per_m_updates', 'Node.js client CPU per million update messages', 'CPU s'),
    (r'ref\.peak_rss_bytes', 'Node.js client peak RSS (VmHWM)', 'bytes'),
    (r'ratio\.throughput', 'ours / Node.js: update messages per second', 'x'),
    (r'ratio\.peak_rss', 'ours / Node.js: peak RSS', 'x'),
    (r'ingest_scraped\.msgs_per_s', 'end to end ingest while /metrics is scraped every 1 s', 'msg/s'),
    (r'ingest_scraped\.ratio', 'ingest with 1 s scrapes / ingest without', 'x'),
    (r'scrape\.idle\.(?P<L>\w+)\.seconds', '/metrics render time, {L} series, idle', 's'),
    (r'scrape\.idle\.(?P<L>\w+)\.bytes', '/metrics response size, {L} series', 'bytes'),
    (r'scrape\.idle\.(?P<L>\w+)\.series', 'series actually exposed, {L} level', 'series'),
    (r'scrape\.flood\.(?P<L>\w+)\.seconds', '/metrics render time, {L} series, during flood ingest', 's'),
    (r'scrape\.flood\.(?P<L>\w+)\.bytes', '/metrics response size, {L} series, during flood', 'bytes'),
    (r'mem\.idle\.rss_bytes', 'exporter RSS at idle (1 asset, subscribed)', 'bytes'),
    (r'mem\.(?P<L>\w+)\.rss_bytes', 'exporter RSS with {L} series', 'bytes'),
    (r'mem\.(?P<L>\w+)\.bytes_per_series', 'exporter RSS per series, {L} series', 'bytes'),
    (r'startup\.(?P<L>\w+)\.seconds', 'start-up to first complete /metrics, {L} assets', 's'),
]

# (figure id, comparison, limit, text)
TARGETS = [
    ('ingest.msgs_per_s', '>=', 500000, '>= 500,000 update messages/s end to end on one core'),
    ('ratio.throughput', '>=', 5, '>= 5x the Node.js client throughput'),
    ('ratio.peak_rss', '<=', 0.1, '<= 1/10 of the Node.js client peak RSS'),
    ('scrape.idle.1M.seconds', '<=', 0.5, '/metrics with 1M series rendered in <= 0.5 s (idle)'),
    ('scrape.flood.1M.seconds', '<=', 0.5, '/metrics with 1M series rendered in <= 0.5 s (during ingest)'),
    ('mem.1M.bytes_per_series', '<=', 150, '<= 150 bytes of RSS per series at 1M series'),
    ('startup.100k.seconds', '<=', 5, 'start-up to complete metrics, 100k assets, <= 5 s'),
    ('binary.stripped_bytes', '<=', 1000000, 'static binary <= 1 MB (1,000,000 bytes)'),
    ('gps.ratio.throughput', '>=', 6, 'GPS workload: >= 6x the Node.js client throughput (issue 15)'),
    ('gps.ratio.peak_rss', '<=', 0.05, 'GPS workload: <= 1/20 of the Node.js client peak RSS (issue 15)'),
    ('gps.ratio.cpu_vs_floor', '<=', 2.5, 'GPS workload: <= 2.5x the decrypt-only floor in CPU per message (issue 15)'),
    ('num.musl.speedup', '>=', 5, 'number parsing >= 5x musl strtod on GPS values, identical results (issue 15)'),
    ('num.diff_inputs', '>=', 100000000, '>= 10^8 random and adversarial inputs checked against strtod (issue 15)'),
    ('num.diff_identical_fraction', '>=', 1, 'every one of them bit-identical (issue 15)'),
]


def describe(fid):
    for pat, desc, unit in FIGURES:
        m = re.fullmatch(pat, fid)
        if m:
            return desc.format(L=m.groupdict().get('L', '')), unit, FIGURES.index((pat, desc, unit))
    return fid, '', len(FIGURES)


def fmt(v, unit):
    if v is None:
        return '-'
    if unit in ('bytes',) and v >= 10 * 1024 * 1024:
        return f'{v / 1048576:.1f} Mi'
    if unit in ('bytes',) and v >= 10 * 1024:
        return f'{v / 1024:.1f} Ki'
    if abs(v) >= 1000:
        return f'{v:,.0f}'
    if abs(v) >= 10:
        return f'{v:.1f}'
    return f'{v:.3g}' if abs(v) >= 0.001 else f'{v:.2e}'


def level_key(fid):
    """Sort level ids by size: 300 < 1k < 10k < 1M."""
    m = re.search(r'\.(\d+(?:\.\d+)?)([kM]?)\.', fid + '.')
    if not m:
        return 0
    return float(m.group(1)) * {'': 1, 'k': 1e3, 'M': 1e6}[m.group(2)]


def read_meta(path):
    meta = {}
    try:
        with open(path) as f:
            for line in f:
                line = line.rstrip('\n')
                if '=' in line:
                    k, v = line.split('=', 1)
                    meta[k] = v
    except FileNotFoundError:
        pass
    return meta


def write(raw, metapath, out):
    samples = {}
    with open(raw) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 2:
                continue
            try:
                samples.setdefault(parts[0], []).append(float(parts[1]))
            except ValueError:
                pass
    meta = read_meta(metapath)
    missing = {k[len('missing.'):]: v for k, v in meta.items() if k.startswith('missing.')}

    rows = []
    for fid in set(samples) | set(missing):
        desc, unit, order = describe(fid)
        vals = samples.get(fid, [])
        if vals:
            rows.append((order, level_key(fid), fid, desc, statistics.median(vals),
                         min(vals), max(vals), unit, len(vals), None))
        else:
            rows.append((order, level_key(fid), fid, desc, None, None, None, unit, 0,
                         missing.get(fid, 'not measured')))
    rows.sort()

    lines = []
    lines.append('# Benchmarks')
    lines.append('')
    lines.append('Generated by `./build.sh bench` (tests/bench/run.sh); do not edit by hand.')
    lines.append('')
    lines.append(f"- machine: {meta.get('cpu', '?')}, {meta.get('cores', '?')} cores, "
                 f"{meta.get('mem', '?')} RAM, {meta.get('os', '?')}")
    lines.append(f"- date: {meta.get('date', '?')}")
    lines.append(f"- commit: {meta.get('commit', '?')}")
    lines.append(f"- mode: {meta.get('mode', '?')}, {meta.get('runs', '?')} runs per figure "
                 f"(median, min, max); pinning: {meta.get('pinning', '?')}")
    for k in ('sizes', 'feed', 'notes'):
        if k in meta:
            lines.append(f'- {k}: {meta[k]}')
    lines.append('')
    lines.append('## Figures')
    lines.append('')
    lines.append('| id | what | median | min | max | unit | runs |')
    lines.append('|---|---|---:|---:|---:|---|---:|')
    for _, _, fid, desc, med, lo, hi, unit, n, why in rows:
        if med is None:
            lines.append(f'| `{fid}` | {desc} | missing: {why} | - | - | {unit} | 0 |')
        else:
            lines.append(f'| `{fid}` | {desc} | {med:.6g} | {lo:.6g} | {hi:.6g} | {unit} | {n} |')
    lines.append('')
    lines.append('## Targets (issue 8)')
    lines.append('')
    lines.append('| target | figure | median | result |')
    lines.append('|---|---|---:|---|')
    medians = {r[2]: r[4] for r in rows}
    for fid, op, limit, text in TARGETS:
        v = medians.get(fid)
        if v is None:
            res = 'not measured' if meta.get('mode') != 'quick' else 'n/a (quick mode)'
            lines.append(f'| {text} | `{fid}` | - | {res} |')
            continue
        met = v >= limit if op == '>=' else v <= limit
        lines.append(f"| {text} | `{fid}` | {v:.6g} | {'met' if met else 'MISSED'} |")
    lines.append('')
    if meta.get('method'):
        lines.append('## How it is measured')
        lines.append('')
        for part in meta['method'].split(' || '):
            lines.append(f'- {part}')
        lines.append('')
    with open(out, 'w') as f:
        f.write('\n'.join(lines))

    # Plain table for the terminal.
    w = max([len(r[2]) for r in rows] + [10])
    print(f"{'figure':<{w}}  {'median':>12}  {'min':>12}  {'max':>12}  unit")
    for _, _, fid, desc, med, lo, hi, unit, n, why in rows:
        if med is None:
            print(f'{fid:<{w}}  missing: {why}')
        else:
            print(f'{fid:<{w}}  {fmt(med, unit):>12}  {fmt(lo, unit):>12}  {fmt(hi, unit):>12}  {unit}')
    print()
    for line in lines:
        if line.startswith('| ') and ('met |' in line or 'MISSED' in line):
            cells = [c.strip() for c in line.strip('|').split('|')]
            print(f'target: {cells[0]}: {cells[2]} -> {cells[3]}')
    print(f'written: {out}')


ROW = re.compile(r'^\| `(?P<id>[\w.]+)` \| (?P<desc>[^|]*) \| (?P<med>[^|]*) \| (?P<lo>[^|]*) \| '
                 r'(?P<hi>[^|]*) \| (?P<unit>[^|]*) \| (?P<n>\d+) \|$')


def check(path):
    """Parses a BENCHMARKS-format file. Prints 'ok ID MEDIAN', 'missing ID why' or
    'bad ID why' per figure row; 'format ...' lines for structural problems."""
    bad = 0
    try:
        text = open(path).read().split('\n')
    except OSError as e:
        print(f'format cannot read {path}: {e}')
        return 1
    for need in ('# Benchmarks', '## Figures', '## Targets (issue 8)'):
        if need not in text:
            print(f'format missing heading "{need}"')
            bad = 1
    for need in ('- machine: ', '- date: ', '- commit: '):
        if not any(t.startswith(need) for t in text):
            print(f'format missing line "{need}..."')
            bad = 1
    try:
        start = text.index('## Figures')
        end = text.index('## Targets (issue 8)')
    except ValueError:
        return 1
    n = 0
    for line in text[start:end]:
        if not line.startswith('| `'):
            continue
        m = ROW.match(line)
        if not m:
            print(f'format unparsable row: {line}')
            bad = 1
            continue
        n += 1
        fid, med = m.group('id'), m.group('med').strip()
        if med.startswith('missing:'):
            print(f'missing {fid} {med[len("missing:"):].strip()}')
            continue
        try:
            v, lo, hi = float(med), float(m.group('lo')), float(m.group('hi'))
        except ValueError:
            print(f'bad {fid} not a number: {med}')
            continue
        if not (v > 0 and lo > 0 and hi > 0):
            print(f'bad {fid} not positive: {med}')
        elif not (lo <= v <= hi):
            print(f'bad {fid} median outside [min,max]')
        else:
            print(f'ok {fid} {v:g}')
    if n == 0:
        print('format no figure rows')
        bad = 1
    return bad


def main(argv):
    if len(argv) == 5 and argv[1] == 'write':
        write(argv[2], argv[3], argv[4])
        return 0
    if len(argv) == 3 and argv[1] == 'check':
        return check(argv[2])
    sys.stderr.write(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
