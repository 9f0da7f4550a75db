"""Qt item models over the plain data of vhd, transfer and azure."""
