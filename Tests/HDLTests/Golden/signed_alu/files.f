signed_alu.v
