counter.v
two_counters.v
