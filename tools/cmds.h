/*
 * cmds.h - the subcommands of `memtls`. Each takes the arguments after
 * the program name (argv[0] is the subcommand's name), parses them with
 * getopt_long, and returns the process exit status (args.h).
 */
#ifndef MEMTLS_TOOL_CMDS_H
#define MEMTLS_TOOL_CMDS_H

int cmd_serve(int argc, char *argv[]);
int cmd_connect(int argc, char *argv[]);
int cmd_cert(int argc, char *argv[]);
int cmd_demo(int argc, char *argv[]);

#endif
