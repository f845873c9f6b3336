"""Small ADaM studies written as real exporters write them, each with the numbers it must give."""
