# truth_count.awk -- counts the simulator's ground-truth lines (/truth on its control
# endpoint: "asset_id<TAB>key<TAB>ts<TAB>value") whose key is one of -v keys=a,b,c and
# whose ts is not 0: the telemetry series a complete exporter exposes.
BEGIN { FS = "\t"; n = split(keys, k, ","); for (i = 1; i <= n; i++) want[k[i]] = 1 }
($2 in want) && $3 != "0" { c++ }
END { print c + 0 }
