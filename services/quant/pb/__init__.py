"""Generated protobuf modules; the sources are in proto/ (run `make proto`)."""
