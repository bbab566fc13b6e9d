import sys

from liteship.app.cli import main

sys.exit(main())
