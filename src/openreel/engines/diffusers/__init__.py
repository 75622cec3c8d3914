"""The diffusers engine: open-weight models on GPU, in a long-lived child process."""
