package io.mmemu.program;

/**
 * One statement's failed expectations of one kind, as a run's report gives them ({@link FailureGroups}).
 *
 * @param statement    {@code NAME:LINE:COLUMN}
 * @param count        how many times it failed
 * @param first        the first failure's message
 * @param firstAddress the address of the first failure: a signal's fault address, a wrong byte's
 *                     address, or else the call's first argument
 * @param lastAddress  the same for the last failure
 */
public record FailureGroup(String statement, long count, String first, long firstAddress, long lastAddress)
{
}
