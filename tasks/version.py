"""The extractor's version, stored with every article.

Bump it whenever a change to clean/extract can change what an article looks like:
`newsdrop reprocess --stale` finds the articles made by earlier rules.
"""

EXTRACTOR_VERSION = "16"
