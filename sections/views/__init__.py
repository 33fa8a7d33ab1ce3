"""The pages, one module per area, each named for the concept module it calls.

`sections/urls.py` names each view by its module (`comments.post_comment`), so a URL
leads to its view in one hop. Nothing is re-exported here: import the area's module.
"""
