"""What scholarly Markdown adds to plain Markdown, as pandoc and its xnos filters read
it: figures with captions, table captions, TeX math. Each part is a Python-Markdown
extension that `sections.rendering` enables; labels and their numbers are
`sections.crossrefs`."""
