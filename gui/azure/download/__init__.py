"""Downloads from Azure: a managed disk, a snapshot or a gallery image version to a local file.

``source.py`` reads what the user names (a SAS URL or a resource ID); ``job.py`` grants read
access for the download and revokes it in every outcome, and reads a gallery image version
through a temporary managed disk made from it, deleted afterwards in every outcome. The bytes
travel through the engine in gui/transfer/download.py.
"""
