print("qkforge")
