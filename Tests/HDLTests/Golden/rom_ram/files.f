rom_ram.v
