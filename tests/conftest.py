"""Test-session settings shared by every test file.

Threads are left at their defaults: sknoisy holds BLAS to one thread
itself inside its loops of small products (``sknoisy/utils/_threads.py``).
"""
