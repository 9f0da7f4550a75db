"""The sandbox's Blob endpoint: the page-blob subset of the Blob REST API, SAS-authenticated."""
