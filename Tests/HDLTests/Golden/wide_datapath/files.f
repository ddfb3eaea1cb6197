wide_datapath.v
