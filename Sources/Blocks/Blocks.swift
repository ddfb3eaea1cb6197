// Spiking block library: see issue 3.
