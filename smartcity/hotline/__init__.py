"""The citizen service hotline (12345): work orders from every channel, the knowledge base, Open311."""
