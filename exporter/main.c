/* main.c -- iotpro_exporter entry point (placeholder until the daemon lands). */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("iotpro_exporter %s (%s)\n", IOTPRO_VERSION, IOTPRO_REVISION);
        return 0;
    }
    fprintf(stderr, "iotpro_exporter: not implemented yet\n");
    return 1;
}
