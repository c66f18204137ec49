"""For client authors: the reference client, the replay server, recorded streams, the client runner."""
