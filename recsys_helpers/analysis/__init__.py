"""What the notebooks compute about data and fitted models: rating distributions,
polarising movies, and the geometry of the movie vectors."""
