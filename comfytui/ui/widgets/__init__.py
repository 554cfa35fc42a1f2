"""One module per dashboard pane."""
