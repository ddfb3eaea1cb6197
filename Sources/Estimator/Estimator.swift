// Cost model: see issue 5.
