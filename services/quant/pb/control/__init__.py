"""Generated protobuf modules (see proto/)."""
