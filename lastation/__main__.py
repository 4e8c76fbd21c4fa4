from lastation.cli import main

main()
