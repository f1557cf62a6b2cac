from safestep.cli import main

main()
