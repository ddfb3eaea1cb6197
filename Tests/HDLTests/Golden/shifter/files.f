shifter.v
