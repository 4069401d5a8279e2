import StreamKit

print("placeholder")
