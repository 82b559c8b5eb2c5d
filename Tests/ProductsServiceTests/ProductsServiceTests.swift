// Products service tests live beside this file.
